from typing import cast

import strawberry

from resolvers.codes import resolve_code_list
from schema.common import Code, field


@strawberry.type
class CodeQueries:
    @field(description='A code list with its labels, e.g. codeList(name: "ethnicity").')
    def code_list(self, name: str) -> list[Code]:
        return cast("list[Code]", resolve_code_list(name))  # CodeValue: the same code and label
