"""Equal footing (docs/protocols.md#equal-footing): within a column of a paper table, two systems' resolved
configs differ only in keys that one of them declares as part of its objective (`method_keys`), in keys
only one of the two methods has, or, under an older protocol kept for the committed results, in keys
that protocol names as confounds. Checked for every table, at every scale, under every named protocol."""
from __future__ import annotations

import pytest

from lcl_repro.report.tables import SCALES, load_table, system_differences, table_names, undeclared_differences


def protocols_of(name: str) -> list:
    return list(load_table(name).protocols) or [None]


CASES = [(name, protocol, scale) for name in table_names() for protocol in protocols_of(name) for scale in SCALES]


@pytest.mark.slow  # composes every cell of every table: minutes
@pytest.mark.parametrize("name,protocol,scale", CASES, ids=[f"{n}-{p or 'plain'}-{s}" for n, p, s in CASES])
def test_systems_differ_only_where_declared(name, protocol, scale):
    table = load_table(name, protocol)
    differences = system_differences(table, scale)
    undeclared = undeclared_differences(table, scale, differences)
    declared = sorted({k for pairs in differences.values() for keys in pairs.values() for k in keys})
    print(f"{name} protocol={table.applied_protocol or '-'} scale={scale}: differences between systems: "
          f"{', '.join(declared) or 'none'}; undeclared: {len(undeclared)}")
    assert not undeclared, "\n".join(undeclared)
