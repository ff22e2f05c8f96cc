from tests.conftest import Api


def test_top_level_units_include_the_ministry_of_home_affairs(api: Api) -> None:
    units = api.data("{ units { code name kind { code label } level } }")["units"]
    codes = {u["code"] for u in units}
    assert "BNV" in codes and len(units) >= 12
    assert {u["kind"]["code"] for u in units} == {"MINISTRY", "PROVINCE"}
    assert all(u["level"] == 1 for u in units)


def test_unit_codes_begin_with_their_parents_code(api: Api) -> None:
    unit = api.data('{ unit(code: "BNV") { id children { code path parent { code } children { code } } } }')["unit"]
    for child in unit["children"]:
        assert child["code"].startswith("BNV.")
        assert child["path"] == f"/BNV/{child['code']}/"
        assert child["parent"]["code"] == "BNV"
        assert all(grandchild["code"].startswith(child["code"] + ".") for grandchild in child["children"])


def test_units_can_be_filtered_by_kind(api: Api) -> None:
    hni = api.data('{ unit(code: "HNI") { id } }')["unit"]["id"]
    query = "query($p: ID) { units(parent: $p, kind: PUBLIC_SERVICE_UNIT) { kind { code } } }"
    kinds = {u["kind"]["code"] for u in api.data(query, variables={"p": hni})["units"]}
    assert kinds == {"PUBLIC_SERVICE_UNIT"}


def test_unit_officials_include_subunits_unless_asked_not_to(api: Api) -> None:
    query = """{ unit(code: "HNI.SYT") {
      all: officials(first: 1) { totalCount }
      own: officials(first: 100, filter: {includeSubunits: false}) { totalCount nodes { unit { code } } } } }"""
    unit = api.data(query)["unit"]
    assert unit["all"]["totalCount"] > unit["own"]["totalCount"]
    assert {n["unit"]["code"] for n in unit["own"]["nodes"]} <= {"HNI.SYT"}


def test_unit_officials_refuse_a_second_unit_filter(api: Api) -> None:
    body = api.post('{ unit(code: "HNI") { officials(filter: {unit: "1"}) { totalCount } } }')
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


def test_positions_have_quotas_and_their_holders_hold_them(api: Api) -> None:
    unit = api.data(
        """{ unit(code: "HNI.SNV.P1") { positions { id code quota category { code }
        holders(first: 100) { totalCount nodes { position { id } } } } } }"""
    )["unit"]
    assert unit["positions"]
    for position in unit["positions"]:
        assert position["quota"] >= 1
        assert all(n["position"]["id"] == position["id"] for n in position["holders"]["nodes"])


def test_position_by_id(api: Api) -> None:
    position = api.data('{ position(id: "1") { code title unit { code } } }')["position"]
    assert position["code"] == "TRUONG" and position["unit"]["code"] == "BNV"


def test_code_lists_carry_vietnamese_labels(api: Api) -> None:
    ethnicities = api.data('{ codeList(name: "ethnicity") { code label } }')["codeList"]
    assert len(ethnicities) == 54 and ethnicities[0] == {"code": "01", "label": "Kinh"}
    body = api.post('{ codeList(name: "nope") { code } }')
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
