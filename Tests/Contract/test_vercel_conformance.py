"""The simulator answers as Vercel's OpenAPI document says, each answer shape switched on in turn;
only the document's named flaws are excused (vercel_conformance.py lists them with their reasons)."""

import os

import vercel_conformance


def test_every_simulated_answer_conforms_to_vercels_document_but_for_its_named_flaws():
    report = vercel_conformance.run(os.environ["TEST_SIMULATOR_URL"])
    failures = [row for row in report if row[4] == "fails"]
    excused = {name for row in report if row[4] == "flaw" for name in row[5].split(",")}
    assert not failures, "\n".join(" ".join(map(str, row)) for row in failures)
    assert excused <= set(vercel_conformance.FLAWS), excused - set(vercel_conformance.FLAWS)
    # Every variant ran: each shape set answered every route of the scenario.
    assert {row[0] for row in report} == {"+".join(shapes) or "default" for shapes in vercel_conformance.SHAPES}
    assert len(report) >= 25 * len(vercel_conformance.SHAPES)


def test_an_answer_without_a_required_field_does_not_conform():
    document = vercel_conformance.Document(vercel_conformance.document_path())
    answers = [("GET", "/v6/deployments", 200, {"deployments": [{"uid": "dpl_1", "name": "site"}],
                                                 "pagination": {"count": 1, "next": None, "prev": None}}),
               ("GET", "/v2/user", 201, {"user": {}})]
    verdicts = vercel_conformance.judge(document, answers)
    assert [verdict[3] for verdict in verdicts] == ["fails", "fails"]
