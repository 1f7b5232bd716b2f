from schemas import export


def test_committed_json_schemas_are_current():
    stale = [
        name
        for name, schema in export.schemas().items()
        if not (export.OUT / name).exists() or (export.OUT / name).read_text() != export.render(schema)
    ]
    assert not stale, f"run `python -m schemas.export`; stale: {stale}"


def test_there_is_one_schema_per_statement_type_and_one_for_the_contract():
    assert len(export.schemas()) == 16
