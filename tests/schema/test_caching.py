from strawberry.extensions.validation_cache import _get_validate_cache

from schema import DOCUMENT_CACHE_SIZE
from tests.conftest import Api


def test_validated_documents_are_reused_across_requests(api: Api) -> None:
    query = '{ unit(code: "BTC") { name kind { label } } }'
    api.data(query)
    before = _get_validate_cache(DOCUMENT_CACHE_SIZE).cache_info()
    api.data(query)
    api.data(query, as_user="hr.BTC")
    after = _get_validate_cache(DOCUMENT_CACHE_SIZE).cache_info()
    assert after.hits == before.hits + 2
    assert after.misses == before.misses
