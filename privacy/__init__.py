"""Differential privacy: the RDP accountant and the budgets a dataset's cap admits (pure: no ledger, no I/O)."""
