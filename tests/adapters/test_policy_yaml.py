"""Loading policies from YAML: line numbers in errors, strict keys, no YAML 1.1 surprises."""

from __future__ import annotations

import time
from datetime import date
from fractions import Fraction
from importlib.resources import as_file, files
from pathlib import Path

import pytest

from slamon.adapters.policy_yaml import MAX_POLICY_BYTES, load_policy, loads_policy
from slamon.core.calendars import ALWAYS_OPEN, WeeklyCalendar
from slamon.core.policy import PolicyError
from slamon.core.timefmt import parse_rfc3339

M = 60 * 1_000_000_000
H = 60 * M

# line numbers are the comments' business: each test below names the line it breaks
VALID = """\
apiVersion: slamon/v1
kind: SlaPolicy
metadata: {name: lines}
spec:
  priorities:
    P1: {first_response: 15m, onsite_arrival: 1h, resolution: 4h}
    P2: {first_response: 30m, onsite_arrival: 2h, resolution: 8h}
    P3:
      calendar: office
      first_response: 1h
      onsite_arrival: 4h
      resolution: 1d
    P4: {calendar: office, first_response: 2h, onsite_arrival: 8h, resolution: 2d}
  calendars:
    office:
      timezone: Asia/Shanghai
      weekly:
        mon: ["09:00-12:00", "13:00-18:00"]
        fri: ["09:00-12:00", "13:00-18:00"]
      holidays: [2026-10-02]
  warn_at: 0.5
  pause: [resolution]
"""
assert VALID.splitlines()[5].startswith("    P1:")  # line 6
assert VALID.count("\n") == 22


def edited(old: str, new: str) -> str:
    """VALID with one unique snippet replaced."""
    assert VALID.count(old) == 1, old
    return VALID.replace(old, new)


def test_valid_document_loads() -> None:
    """The reference text loads: targets, calendar, unquoted holiday date, warn_at, pause."""
    policy = loads_policy(VALID)
    assert policy.name == "lines"
    assert policy.target_ns("P1", "first_response") == 15 * M
    assert policy.target_ns("P3", "resolution") == 24 * H
    assert policy.warn_at == Fraction(1, 2)
    assert policy.pause == frozenset({"resolution"})
    assert policy.calendar("P1") is ALWAYS_OPEN
    office = policy.calendar("P4")
    assert isinstance(office, WeeklyCalendar)
    assert office.holidays == frozenset({date(2026, 10, 2)})


@pytest.mark.parametrize(
    ("old", "new", "line", "path"),
    [
        # line 6: P1's first_response
        ("first_response: 15m", "first_response: 15x", 6,
         ("spec", "priorities", "P1", "first_response")),
        # line 1
        ("apiVersion: slamon/v1", "apiVersion: slamon/v0", 1, ("apiVersion",)),
        # line 9: the calendar name under P3
        ("      calendar: office\n", "      calendar: ofice\n", 9,
         ("spec", "priorities", "P3", "calendar")),
        # line 12: a block-style value
        ("resolution: 1d", "resolution: 0s", 12, ("spec", "priorities", "P3", "resolution")),
        # line 18: the first interval of mon
        ('mon: ["09:00-12:00"', 'mon: ["12:00-09:00"', 18,
         ("spec", "calendars", "office", "weekly", "mon", "0")),
        # line 19: an unknown weekday key
        ("        fri:", "        friday:", 19,
         ("spec", "calendars", "office", "weekly", "friday")),
        # line 20: an impossible date stays a string and is reported, not a YAML crash
        ("[2026-10-02]", "[2026-13-02]", 20, ("spec", "calendars", "office", "holidays", "0")),
        # line 21
        ("warn_at: 0.5", "warn_at: 1", 21, ("spec", "warn_at")),
        # line 22: second item of pause
        ("pause: [resolution]", "pause: [resolution, lunch]", 22, ("spec", "pause", "1")),
        # line 4 -> the unknown key's own line, inserted as line 5
        ("spec:\n", "spec:\n  timezone: UTC\n", 5, ("spec", "timezone")),
    ],
)  # fmt: skip
def test_errors_carry_the_line_of_the_field(
    old: str, new: str, line: int, path: tuple[str, ...]
) -> None:
    """A validation error is reported at the line of the offending key or item."""
    with pytest.raises(PolicyError) as caught:
        loads_policy(edited(old, new), source="p.yaml")
    error = caught.value
    assert error.path == path
    assert error.line == line
    assert error.source == "p.yaml"
    assert str(error).startswith(f"p.yaml:{line}: {'.'.join(path)}: ")


def test_error_from_a_file_names_the_file_and_line(tmp_path: Path) -> None:
    """load_policy: line 6 'first_response: 15x' -> '<file>:6: spec.priorities.P1...'."""
    path = tmp_path / "policy.yaml"
    path.write_text(edited("first_response: 15m", "first_response: 15x"), encoding="utf-8")
    with pytest.raises(PolicyError) as caught:
        load_policy(path)
    error = caught.value
    assert (error.source, error.line) == (str(path), 6)
    assert error.path == ("spec", "priorities", "P1", "first_response")
    assert str(error).startswith(f"{path}:6: spec.priorities.P1.first_response: ")
    assert "15x" in str(error)


def test_missing_key_reports_the_parents_line() -> None:
    """P3 without resolution: the error points at 'P3:' on line 8."""
    with pytest.raises(PolicyError) as caught:
        loads_policy(edited("      resolution: 1d\n", ""))
    assert caught.value.path == ("spec", "priorities", "P3")
    assert caught.value.line == 8
    assert "'resolution'" in caught.value.message


P2_LINE = "    P2: {first_response: 30m, onsite_arrival: 2h, resolution: 8h}\n"


def test_missing_priority_reports_the_priorities_line() -> None:
    """No P2: the error points at 'priorities:' on line 5."""
    with pytest.raises(PolicyError) as caught:
        loads_policy(edited(P2_LINE, ""))
    assert caught.value.path == ("spec", "priorities")
    assert caught.value.line == 5


def test_duplicate_key_reports_its_line() -> None:
    """A second first_response under P3 (inserted as line 11) is an error at line 11."""
    text = edited(
        "      first_response: 1h\n", "      first_response: 1h\n      first_response: 2h\n"
    )
    with pytest.raises(PolicyError) as caught:
        loads_policy(text, source="dup.yaml")
    error = caught.value
    assert error.line == 11
    assert error.path == ("spec", "priorities", "P3")
    assert "duplicate key 'first_response'" in error.message
    assert str(error).startswith("dup.yaml:11: ")


def test_duplicate_top_level_key() -> None:
    """'kind' repeated as line 23 is reported there, with the root path."""
    with pytest.raises(PolicyError) as caught:
        loads_policy(VALID + "kind: SlaPolicy\n")
    assert (caught.value.line, caught.value.path) == (23, ())
    assert "'kind'" in caught.value.message


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("metadata: {name: 2026-10-01}", "2026-10-01"),  # YAML 1.1 would make a date
        ("metadata:\n  name: 9:30", "9:30"),  # YAML 1.1 would make 570 (base 60)
        ("metadata:\n  name: 1:30:00", "1:30:00"),
        ("metadata: {name: 2026-10-01T08:00:00Z}", "2026-10-01T08:00:00Z"),
    ],
)
def test_dates_and_sexagesimals_stay_strings(text: str, name: str) -> None:
    """Date-like and h:mm-like plain scalars are strings, so they validate as names."""
    assert loads_policy(edited("metadata: {name: lines}", text)).name == name


def test_numbers_are_still_numbers() -> None:
    """warn_at: .25 is the float 0.25 and a bare integer duration is rejected as such."""
    assert loads_policy(edited("warn_at: 0.5", "warn_at: .25")).warn_at == Fraction(1, 4)
    with pytest.raises(PolicyError) as caught:
        loads_policy(edited("resolution: 1d", "resolution: 86400"))
    assert "got 86400" in caught.value.message  # the int 86400, not the string '86400'
    assert caught.value.line == 12


def test_invalid_yaml_syntax_reports_a_line() -> None:
    """'metadata: name: x' on line 3 is a YAML error at line 3."""
    with pytest.raises(PolicyError) as caught:
        loads_policy(edited("metadata: {name: lines}", "metadata: name: lines"), source="s.yaml")
    error = caught.value
    assert error.line == 3
    assert error.message.startswith("invalid YAML")
    assert str(error).startswith("s.yaml:3: invalid YAML")


def test_two_documents_are_rejected_at_the_second() -> None:
    """A '---' second document (line 23) is invalid: one policy per file."""
    with pytest.raises(PolicyError) as caught:
        loads_policy(VALID + "---\n" + VALID)
    assert caught.value.line == 23
    assert caught.value.message.startswith("invalid YAML")


@pytest.mark.parametrize("text", ["", "\n\n", "# only a comment\n"])
def test_empty_document(text: str) -> None:
    """Nothing but blanks or comments: 'the document is empty', no line."""
    with pytest.raises(PolicyError, match="empty") as caught:
        loads_policy(text, source="e.yaml")
    assert caught.value.line is None
    assert caught.value.source == "e.yaml"


def test_scalar_document_is_not_a_mapping() -> None:
    """A document that is just a string: 'expected a mapping' at line 1."""
    with pytest.raises(PolicyError, match="mapping") as caught:
        loads_policy("just text\n")
    assert (caught.value.path, caught.value.line) == ((), 1)


def test_missing_file_is_a_policy_error(tmp_path: Path) -> None:
    """A path that does not exist: PolicyError naming the path, no line."""
    path = tmp_path / "nope.yaml"
    with pytest.raises(PolicyError, match="cannot read") as caught:
        load_policy(path)
    assert caught.value.source == str(path)
    assert caught.value.line is None


def test_directory_is_a_policy_error(tmp_path: Path) -> None:
    """A directory cannot be read as a policy."""
    with pytest.raises(PolicyError, match="cannot read") as caught:
        load_policy(tmp_path)
    assert caught.value.source == str(tmp_path)


def test_non_utf8_file_is_a_policy_error(tmp_path: Path) -> None:
    """Latin-1 bytes are refused as not UTF-8."""
    path = tmp_path / "latin.yaml"
    path.write_bytes(VALID.replace("lines", "l\xe9ines").encode("latin-1"))
    with pytest.raises(PolicyError, match="UTF-8") as caught:
        load_policy(str(path))
    assert caught.value.source == str(path)


def test_bundled_default_policy_loads() -> None:
    """src/slamon/data/default-policy.yaml is valid and says what its comments say."""
    with as_file(files("slamon.data") / "default-policy.yaml") as path:
        policy = load_policy(path)
    assert policy.name == "default"
    assert policy.warn_at == Fraction(3, 4)
    assert policy.pause == frozenset({"resolution"})
    assert policy.target_ns("P1", "first_response") == 5 * M
    assert policy.target_ns("P1", "onsite_arrival") == 4 * H
    assert policy.target_ns("P4", "resolution") == 48 * H
    assert policy.calendar("P1") is ALWAYS_OPEN
    office = policy.calendar("P3")
    assert isinstance(office, WeeklyCalendar)
    assert office.name == "office"
    assert policy.calendar("P4") is office
    # Wed 09-30 17:00 + 2h: 1h on Wednesday; Thu 10-01, Fri 10-02 are holidays, then the
    # weekend, then holidays Mon 10-05 to Wed 10-07: the second hour is Thu 10-08 09-10
    start = parse_rfc3339("2026-09-30T17:00:00+08:00")
    assert office.reach(start, 2 * H) == parse_rfc3339("2026-10-08T10:00:00+08:00")


@pytest.mark.parametrize("name", [".", "-.", "+.", "._"])
def test_dot_only_scalars_are_strings(name: str) -> None:
    """'name: .' (no digits) is a one-character name, not a crash in the float constructor."""
    text = edited("metadata: {name: lines}", f"metadata:\n  name: {name}")
    assert loads_policy(text).name == name


@pytest.mark.parametrize(("value", "expected"), [(".25", Fraction(1, 4)), ("0.", None)])
def test_floats_with_digits_on_one_side_of_the_dot(value: str, expected: Fraction | None) -> None:
    """'.25' is 0.25 and '0.' is 0.0 (then out of range): both are numbers."""
    text = edited("warn_at: 0.5", f"warn_at: {value}")
    if expected is None:
        with pytest.raises(PolicyError, match="between 0 and 1"):
            loads_policy(text)
    else:
        assert loads_policy(text).warn_at == expected


def test_self_referencing_alias_loads() -> None:
    """A recursive alias in free-form labels neither recurses forever nor fails."""
    text = edited("metadata: {name: lines}", "metadata: &m {name: lines, labels: *m}")
    assert loads_policy(text).name == "lines"


def test_aliased_priority_is_shared_and_errors_still_have_a_line() -> None:
    """P2: *p1 reuses P1's targets; a bad value inside the anchor reports the anchor's line 6."""
    text = edited("    P1: {", "    P1: &p1 {").replace(P2_LINE, "    P2: *p1\n")
    policy = loads_policy(text)
    assert policy.target_ns("P2", "first_response") == 15 * M  # P1's 15m
    assert policy.target_ns("P2", "resolution") == 4 * H
    with pytest.raises(PolicyError) as caught:
        loads_policy(text.replace("resolution: 4h", "resolution: 4x"))
    # P1 is indexed first, so its error is at line 6 with P1's path
    assert (caught.value.path, caught.value.line) == (("spec", "priorities", "P1", "resolution"), 6)


# -- hostile policy files ----------------------------------------------------------------
BOMB = "".join(
    f"  {name}: &{name} [{', '.join([f'*{prev}' if prev else 'lol'] * 9)}]\n"
    for prev, name in zip(["", *"abcdefgh"], "abcdefghi", strict=True)
)  # 9 levels x 9 aliases: 9**9 = 387 million strings once expanded, in under 1 KB


def with_bomb(old: str, new: str) -> str:
    """VALID with the bomb under metadata.labels (line 4 on) and one field set to *i."""
    text = edited("metadata: {name: lines}\n", "metadata:\n  labels:\n"
                  + BOMB.replace("  ", "    ") + "  name: lines\n")  # fmt: skip
    return text.replace(old, new)


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("pause: [resolution]", "pause: *i"),
        ("  name: lines", "  name: *i"),
        ("warn_at: 0.5", "warn_at: *i"),
        ("resolution: 1d", "resolution: *i"),
    ],
)
def test_an_alias_bomb_is_refused_quickly(old: str, new: str) -> None:
    """A sub-kilobyte alias bomb referenced from spec.pause or metadata.name used to hang
    and grow to 2 GB rendering its error; now it is refused before it is built."""
    text = with_bomb(old, new)
    assert len(text.encode()) < 1600
    start = time.perf_counter()
    with pytest.raises(PolicyError) as caught:
        loads_policy(text, source="bomb.yaml")
    assert time.perf_counter() - start < 1
    assert str(caught.value) == (
        "bomb.yaml:1: the document has more than 10000 values (aliases expanded)"
    )


def test_aliases_that_stay_small_are_fine() -> None:
    """Anchors, aliases and merge keys may reuse a block: P4 merges P3's targets."""
    text = edited("    P3:\n", "    P3: &p3\n").replace(
        "    P4: {calendar: office, first_response: 2h, onsite_arrival: 8h, resolution: 2d}",
        "    P4: {<<: *p3, resolution: 2d}",
    )
    policy = loads_policy(text)
    assert policy.target_ns("P4", "first_response") == H
    assert policy.target_ns("P4", "resolution") == 48 * H
    assert policy.calendar("P4").name == "office"


@pytest.mark.parametrize(
    ("new", "line", "tag"),
    [
        ("warn_at: !!python/object/apply:os.system [echo hi]", 21,
         "'!!python/object/apply:os.system'"),
        ("warn_at: !!python/name:os.system", 21, "'!!python/name:os.system'"),
        ("warn_at: !!binary aGVsbG8=", 21, "'!!binary'"),
        ("warn_at: !!timestamp 2026-10-01", 21, "'!!timestamp'"),
        ("warn_at: !!set {a: null}", 21, "'!!set'"),
        ("warn_at: !custom 1", 21, "'!custom'"),
    ],
)  # fmt: skip
def test_tags_other_than_plain_yaml_are_errors(new: str, line: int, tag: str) -> None:
    """!!python/*, !!binary, !!timestamp, custom tags: a clear error at their line."""
    with pytest.raises(PolicyError) as caught:
        loads_policy(edited("warn_at: 0.5", new), source="t.yaml")
    assert str(caught.value) == (
        f"t.yaml:{line}: YAML tag {tag} is not allowed in a policy (only text, numbers, "
        "booleans, null, lists and mappings)"
    )


@pytest.mark.parametrize(
    ("new", "message"),
    [
        ("warn_at: !!int 12abc", "'12abc' is not a plain int"),
        ("warn_at: !!float 1e99999", "'1e99999' is not a plain float"),
        ("warn_at: !!int " + "9" * 5000, "is not a plain int"),  # int() would raise
        ("warn_at: !!bool maybe", "'maybe' is not a plain bool"),
    ],
)
def test_explicit_number_tags_need_plain_values(new: str, message: str) -> None:
    """An explicit !!int/!!float/!!bool on a value it cannot take: an error, no traceback."""
    with pytest.raises(PolicyError) as caught:
        loads_policy(edited("warn_at: 0.5", new), source="t.yaml")
    assert caught.value.line == 21
    assert message in caught.value.message
    assert len(str(caught.value)) < 120


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ("1e-99999999", "got '1e-99999999'"),  # Fraction('1e-99999999') took > 30 s
        ("1.0e-99999999", "got '1.0e-99999999'"),  # a 4+ digit exponent: not a number
        ("1.0e+99999999", "got '1.0e+99999999'"),
        ("1.0e-999", "between 0 and 1 (exclusive), got 0.0"),  # a YAML float: 0.0
        ("9" * 100_000, "such as 0.75, got '" + "9" * 60),  # too long for a number: text
        ("-0.5", "between 0 and 1 (exclusive), got -0.5"),
        (".nan", "got '.nan'"),
        ("[0.5]", "got [0.5]"),
    ],
)
def test_warn_at_absurd_literals_are_refused_fast(value: str, fragment: str) -> None:
    """warn_at is a plain decimal in (0, 1); any literal is judged in well under a second."""
    start = time.perf_counter()
    with pytest.raises(PolicyError) as caught:
        loads_policy(edited("warn_at: 0.5", f"warn_at: {value}"), source="w.yaml")
    assert time.perf_counter() - start < 1
    assert (caught.value.path, caught.value.line) == (("spec", "warn_at"), 21)
    assert fragment in caught.value.message
    assert len(str(caught.value)) < 200


@pytest.mark.parametrize("value", ["0.75", '"0.75"', "7.5e-1", ".75", "'.75'"])
def test_warn_at_plain_decimals(value: str) -> None:
    """A YAML float or a quoted plain decimal."""
    assert loads_policy(edited("warn_at: 0.5", f"warn_at: {value}")).warn_at == Fraction(3, 4)


@pytest.mark.parametrize(
    ("old", "new", "path", "fragment"),
    [
        ("resolution: 1d", "resolution: 99999999d", ("spec", "priorities", "P3", "resolution"),
         "a duration must be at most 400d, got '99999999d'"),
        ("resolution: 1d", "resolution: -1d", ("spec", "priorities", "P3", "resolution"),
         "expected a duration"),
        ("resolution: 1d", "resolution: [1d]", ("spec", "priorities", "P3", "resolution"),
         "got ['1d']"),
        ("resolution: 1d", "resolution: 1e9999", ("spec", "priorities", "P3", "resolution"),
         "got '1e9999'"),
        ("resolution: 1d", "resolution: 399d", ("spec", "priorities", "P3", "resolution"),
         None),  # fine on a 16-hour week
        ('mon: ["09:00-12:00", "13:00-18:00"]', 'mon: ["09:00-09:01"]',
         ("spec", "priorities", "P4", "resolution"), "could take more than 50 years"),
        ("timezone: Asia/Shanghai", "timezone: " + "A" * 10_000,
         ("spec", "calendars", "office", "timezone"), "10000 characters, more than 100"),
        ("timezone: Asia/Shanghai", "timezone: ../../etc/passwd",
         ("spec", "calendars", "office", "timezone"), "unknown time zone"),
        ("timezone: Asia/Shanghai", "timezone: [UTC]",
         ("spec", "calendars", "office", "timezone"), "expected a non-empty string"),
        ("holidays: [2026-10-02]", "holidays: 2026-10-02",
         ("spec", "calendars", "office", "holidays"), "expected a list of dates"),
        ("holidays: [2026-10-02]", "holidays: [0000-01-01]",
         ("spec", "calendars", "office", "holidays", "0"), "expected a date"),
        ('mon: ["09:00-12:00", "13:00-18:00"]', "mon: 09:00-12:00",
         ("spec", "calendars", "office", "weekly", "mon"), "expected a list of intervals"),
        ("  warn_at: 0.5", "  warn_at: 0.5\n  " + "w" * 1000 + ": 1",
         ("spec", "w" * 1000), "unknown key"),
    ],
)  # fmt: skip
def test_wrong_types_huge_values_and_absurd_calendars_name_the_field(
    old: str, new: str, path: tuple[str, ...], fragment: str | None
) -> None:
    """Each is 'file:line: field: message' of bounded length, never a hang or traceback."""
    text = edited(old, new)
    if new.startswith('mon: ["09:00-09:01"]'):
        text = text.replace('        fri: ["09:00-12:00", "13:00-18:00"]\n', "")
    if fragment is None:
        assert loads_policy(text).target_ns(*path[2:]) == 399 * 24 * H
        return
    with pytest.raises(PolicyError) as caught:
        loads_policy(text, source="p.yaml")
    error = caught.value
    assert error.path == path
    assert fragment in error.message
    assert str(error).startswith(f"p.yaml:{error.line}: ")
    assert error.line is not None
    assert len(str(error)) < 400


@pytest.mark.parametrize(
    "text",
    ["[" * 100_000, "a:\n" + "".join(" " * i + "b:\n" for i in range(1, 1000)), "- " * 100_000],
)
def test_deep_nesting_is_an_error_not_a_traceback(text: str) -> None:
    """Nesting deeper than the parser's recursion: 'invalid YAML: nested too deeply'."""
    with pytest.raises(PolicyError, match="nested too deeply"):
        loads_policy(text)


def test_non_text_keys_are_errors() -> None:
    """A complex key (? [a, b]) is an error at its line, without rendering it."""
    with pytest.raises(PolicyError) as caught:
        loads_policy(edited("spec:\n", "spec:\n  ? [a, b]\n  : 1\n"), source="k.yaml")
    assert str(caught.value) == "k.yaml:5: keys must be plain text"


def test_a_policy_file_over_1_mib_is_refused_unread(tmp_path: Path) -> None:
    """The file is read up to 1 MiB + 1 byte: a larger one is refused before parsing."""
    path = tmp_path / "big.yaml"
    path.write_bytes(VALID.encode() + b"#" * MAX_POLICY_BYTES)
    with pytest.raises(PolicyError) as caught:
        load_policy(path)
    assert str(caught.value) == f"{path}: the policy is over 1048576 bytes"
    with pytest.raises(PolicyError, match="over 1048576 bytes"):
        loads_policy(VALID + "#" * MAX_POLICY_BYTES)
