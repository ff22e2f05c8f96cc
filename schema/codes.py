import strawberry

from resolvers.codes import resolve_code_list
from schema.common import Code


@strawberry.type
class CodeQueries:
    @strawberry.field(description='A code list with its labels, e.g. codeList(name: "ethnicity").')
    def code_list(self, name: str) -> list[Code]:
        return resolve_code_list(name)  # type: ignore[return-value]
