from schema.limits import validate
from tests.conftest import Api


def test_validated_documents_are_reused_across_requests(api: Api) -> None:
    query = '{ unit(code: "BTC") { name kind { label } } }'
    api.data(query)
    before = validate.cache_info()
    api.data(query)
    api.data(query, as_user="hr.BTC")
    after = validate.cache_info()
    assert after.hits == before.hits + 2
    assert after.misses == before.misses
