"""Parsing and USPS Pub 28 normalisation of the forms CAD and 911 text actually takes (no database)."""
from __future__ import annotations

import pytest

from geo.address import ordinal, parse, split_street


@pytest.mark.parametrize("text, kind, number, normalized", [
    ("1500 blk W North Av", "block", 1500, "1500 BLOCK W NORTH AVE"),
    ("1500 block of W North Ave", "block", 1500, "1500 BLOCK W NORTH AVE"),
    ("15XX W NORTH AVE", "block", 1500, "1500 BLOCK W NORTH AVE"),
    ("015XX W NORTH AVE", "block", 1500, "1500 BLOCK W NORTH AVE"),
    ("1500-1599 W NORTH AVE", "block", 1500, "1500 BLOCK W NORTH AVE"),
    ("UNIT BLK S STOCKTON ST", "block", 0, "0 BLOCK S STOCKTON ST"),
    ("2300 E MONUMENT ST APT 2", "address", 2300, "2300 E MONUMENT ST"),
    ("3600 W. Franklin St #4", "address", 3600, "3600 W FRANKLIN ST"),
    ("100 Saint Paul Street, Baltimore, MD 21202", "address", 100, "100 ST PAUL ST"),
    ("1 E MT ROYAL AVE", "address", 1, "1 E MOUNT ROYAL AVE"),
    ("1620 Edison Hw", "address", 1620, "1620 EDISON HWY"),
    ("5 Oak Terr", "address", 5, "5 OAK TER"),
    ("12 Elm Lane", "address", 12, "12 ELM LN"),
    ("12 Elm Road", "address", 12, "12 ELM RD"),
    ("40 Cider Al", "address", 40, "40 CIDER ALY"),
    ("10 E 25 ST", "address", 10, "10 E 25TH ST"),
    ("10 East Twenty-fifth Street", "address", 10, "10 E 25TH ST"),
    ("2300A E MONUMENT ST", "address", 2300, "2300 E MONUMENT ST"),
    ("1709 NROTH CHARLES ST", "address", 1709, "1709 N CHARLES ST"),
    ("6608 HOLABIRD AVNEUE", "address", 6608, "6608 HOLABIRD AVE"),
    ("N Charles St & E 25th St", "intersection", None, "N CHARLES ST & E 25TH ST"),
    ("N CHARLES ST and E 25TH ST", "intersection", None, "N CHARLES ST & E 25TH ST"),
    ("N CHARLES ST / E 25TH ST", "intersection", None, "N CHARLES ST & E 25TH ST"),
    ("Charles at Twenty-Fifth", "intersection", None, "CHARLES & 25TH"),
    ("5TH ST & B ST", "intersection", None, "5TH ST & B ST"),
    ("MLK JR BD & WASHINGTON BD", "intersection", None, "MARTIN LUTHER KING JR BLVD & WASHINGTON BLVD"),
    ("Intersection of N Charles St and E 25th St", "intersection", None, "N CHARLES ST & E 25TH ST"),
    ("at the corner of Eutaw St & W Pratt St", "intersection", None, "EUTAW ST & W PRATT ST"),
    ("IFO 1500 W North Ave", "address", 1500, "1500 W NORTH AVE"),
    ("near 1500 blk W North Av", "block", 1500, "1500 BLOCK W NORTH AVE"),
    ("W North Ave between N Fulton Ave and N Monroe St", "between", None,
     "W NORTH AVE BETWEEN N FULTON AVE & N MONROE ST"),
    ("W NORTH AV BTWN FULTON & MONROE", "between", None, "W NORTH AVE BETWEEN FULTON & MONROE"),
    ("Greenmount Av b/t E 25th St / E 26th St", "between", None, "GREENMOUNT AVE BETWEEN E 25TH ST & E 26TH ST"),
    ("1500 blk W North Ave btwn Fulton & Monroe", "block", 1500, "1500 BLOCK W NORTH AVE"),
    ("200 E Twenty Fifth St", "address", 200, "200 E 25TH ST"),
    ("2500 Mc Henry St", "address", 2500, "2500 MCHENRY ST"),
    ("W NORTH AVE", "street", None, "W NORTH AVE"),
    ("Near Northwest", "street", None, "NEAR NW"),     # a name, not 'near' something
    ("", "empty", None, ""),
    ("   ", "empty", None, ""),
])
def test_parse_forms(text, kind, number, normalized):
    q = parse(text)
    assert (q.kind, q.number, q.normalized) == (kind, number, normalized)


def test_hundred_form_is_flagged():
    assert parse("600 N LUZERNE AV").hundred and parse("0 S STOCKTON ST").hundred
    assert not parse("601 N LUZERNE AV").hundred


def test_saint_versus_street_by_position():
    s = split_street("ST PAUL ST")
    assert (s.name, s.stype) == ("ST PAUL", "ST")
    s = split_street("SAINT PAUL STREET")
    assert (s.name, s.stype) == ("ST PAUL", "ST")


def test_directional_alone_is_a_name():
    # 'NORTH AVE' is North Avenue, not avenue north; 'N AVE' stays a one-word name too.
    assert split_street("NORTH AVE").key == "NORTH AVE"
    assert split_street("W NORTH AVE").key == "W NORTH AVE"


def test_spelt_directional_keeps_an_alternative_name():
    s = parse("200 NORTH BEND RD").streets[0]
    assert (s.predir, s.name, s.alt_name) == ("N", "BEND", "NORTH BEND")


@pytest.mark.parametrize("n", range(0, 130))
def test_ordinal_suffixes(n):
    expected = {1: "ST", 2: "ND", 3: "RD"}.get(n % 10, "TH") if n % 100 not in (11, 12, 13) else "TH"
    assert ordinal(n) == f"{n}{expected}"


@pytest.mark.parametrize("text, problem", [
    ("99999999999999999999 W NORTH AVE", "out of range"),
    ("99999999XX W NORTH AVE", "out of range"),
    ("1 " + "Q" * 101 + " ST", "longer than"),
])
def test_absurd_numbers_and_names_are_invalid_with_a_reason(text, problem):
    q = parse(text)
    assert q.kind == "invalid" and problem in q.problem


def test_control_characters_are_spaces():
    assert parse("1500\x00W\tNORTH AVE").normalized == "1500 W NORTH AVE"
