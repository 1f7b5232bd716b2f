"""Attestation evidence verified offline: AMD SEV-SNP, Intel TDX, and a labelled simulated TEE.

Imported by the ledger, the key brokers and the auditor; the clean-room agent produces the evidence.
"""
