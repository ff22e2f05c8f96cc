"""The standard partner request the benchmarks measure: 100 officials of one department, 15 fields
plus unit and position."""

PARTNER_LIST = """
query PartnerList($unit: ID!) {
  officials(first: 100, filter: {unit: $unit}) {
    nodes {
      id code fullName birthDate gender { code } personalId socialInsuranceNumber
      employeeType { code } jobTitle rank { code } salaryGrade salaryCoefficient
      unit { code name } position { code title }
    }
  }
}
"""
