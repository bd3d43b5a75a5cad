"""Intake of untrusted uploads: every zip here is generated in tmp_path, no committed binaries."""

from __future__ import annotations

import io
import random
import stat
import zipfile
from pathlib import Path

import pytest

from grader import intake as intake_module
from grader.intake import Intake, IntakeLimits, TooLarge, _copy_capped, find_folder, student_id, take_in
from grader.paths import BUNDLED_DATA, BUNDLED_EXPECTED
from grader.sandbox.workdir import prepare

GOOD = {"stream_data.py": b"# data\n", "stream_queries.py": b"# queries\n"}
SMALL = IntakeLimits(max_total_bytes=20_000, max_entry_bytes=8_000, max_entries=20)


def zip_bytes(files: dict[str, bytes], attrs: dict[str, dict[str, int]] | None = None,
              compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    """A zip of {name: content}; attrs set ZipInfo fields after writing, so they land in the central directory."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as zf:
        for name, content in files.items():
            zf.writestr(name, content)
        for name, fields in (attrs or {}).items():
            for key, value in fields.items():
                setattr(zf.getinfo(name), key, value)
    return buffer.getvalue()


def in_folder(folder: str, files: dict[str, bytes] = GOOD) -> dict[str, bytes]:
    return {f"{folder}/{name}": content for name, content in files.items()}


def snapshot(root: Path, scratch: Path) -> set[Path]:
    return {p for p in root.rglob("*") if scratch not in (p, *p.parents)}


@pytest.fixture
def run(tmp_path: Path):
    """Take in bytes (or a path) as an upload; check nothing was written outside scratch."""
    def run(data: bytes | Path, name: str = "assignment08_DoeJane.zip", limits: IntakeLimits = SMALL) -> Intake:
        upload = data if isinstance(data, Path) else tmp_path / "uploads" / name
        if not isinstance(data, Path):
            upload.parent.mkdir(exist_ok=True)
            upload.write_bytes(data)
        scratch = tmp_path / "scratch"
        scratch.mkdir()
        before = snapshot(tmp_path, scratch)
        result = take_in(upload, scratch, limits)
        assert snapshot(tmp_path, scratch) == before, "intake wrote outside scratch"
        if result.reason is not None:
            assert result.folder is None
            assert result.reason.endswith(".") and "\n" not in result.reason
        else:
            assert result.folder is not None and result.folder.is_dir()
        return result
    return run


def rejected(result: Intake, phrase: str) -> None:
    assert result.folder is None
    assert result.reason is not None and phrase in result.reason, result.reason


# --- accepted ---------------------------------------------------------------------------------------------


def test_good_zip_nested_deep(run):
    result = run(zip_bytes({**in_folder("dsc650/assignments/assignment08"), "dsc650/README.md": b"hi"}))
    assert result.reason is None and result.student == "DoeJane"
    assert result.folder.name == "assignment08"
    assert (result.folder / "stream_data.py").read_bytes() == b"# data\n"
    assert "found assignment08/ under dsc650/assignments/" in result.notes


def test_plain_assignment08_folder_has_no_notes(run):
    result = run(zip_bytes(in_folder("assignment08", {**GOOD, "helpers.py": b"", "results/out.csv": b"a,b\n"})))
    assert result.notes == []
    assert (result.folder / "results" / "out.csv").is_file()


def test_top_level_files(run):
    result = run(zip_bytes(GOOD))
    assert result.reason is None and (result.folder / "stream_queries.py").is_file()
    assert any("top level of the zip" in note for note in result.notes)


def test_any_single_folder(run):
    result = run(zip_bytes(in_folder("my work")))
    assert result.folder.name == "my work"
    assert "found the contract files in my work/, not in assignment08/" in result.notes


def test_prefers_assignment08_then_shallowest(run):
    result = run(zip_bytes({**in_folder("old"), **in_folder("deep/er/assignment08"), **in_folder("x/assignment08")}))
    assert result.folder.relative_to(result.folder.parents[1]).as_posix() == "x/assignment08"
    assert any(note.startswith("found the contract files in 3 places") and note.endswith("graded x/assignment08/")
               for note in result.notes)


def test_one_contract_file_is_enough(run):
    result = run(zip_bytes({"assignment08/stream_data.py": b""}))
    assert result.reason is None
    assert "stream_queries.py is missing; only stream_data.py is graded" in result.notes


def test_folder_input_is_not_extracted(run, tmp_path):
    folder = tmp_path / "uploads" / "assignment08_RoeRichard"
    (folder / "assignment08").mkdir(parents=True)
    for name, content in GOOD.items():
        (folder / "assignment08" / name).write_bytes(content)
    result = run(folder)
    assert result.folder == folder / "assignment08" and result.student == "RoeRichard"
    assert not any((tmp_path / "scratch").iterdir())


def test_find_folder(tmp_path):
    assert find_folder(tmp_path) is None
    (tmp_path / "a" / "assignment08").mkdir(parents=True)
    (tmp_path / "a" / "assignment08" / "stream_queries.py").write_text("")
    (tmp_path / "a" / "stream_data.py").write_text("")
    assert find_folder(tmp_path) == tmp_path / "a" / "assignment08"


def test_macos_and_cache_clutter_ignored(run):
    result = run(zip_bytes({**in_folder("assignment08"), "__MACOSX/assignment08/._stream_data.py": b"\0\5",
                            "assignment08/.DS_Store": b"\0", "assignment08/__pycache__/x.cpython-311.pyc": b"",
                            "assignment08/old.pyc": b"", "assignment08/._stream_data.py": b"\0\5"}))
    assert result.reason is None
    assert "ignored __MACOSX/, .DS_Store, ._* (macOS resource forks), __pycache__/ and *.pyc" in result.notes
    root = result.folder.parent
    assert not (root / "__MACOSX").exists() and not (result.folder / ".DS_Store").exists()
    assert not (result.folder / "__pycache__").exists() and not (result.folder / "old.pyc").exists()
    assert not (result.folder / "._stream_data.py").exists()


def test_windows_backslash_names(run):
    result = run(zip_bytes({"assignment08\\stream_data.py": b"x", "assignment08\\stream_queries.py": b"y"}))
    assert result.folder.name == "assignment08" and (result.folder / "stream_data.py").read_bytes() == b"x"


def test_permissions_are_normalised(run):
    setuid = {"external_attr": (stat.S_IFREG | stat.S_ISUID | 0o777) << 16}
    result = run(zip_bytes(in_folder("assignment08"), attrs={"assignment08/stream_data.py": setuid}))
    assert stat.S_IMODE((result.folder / "stream_data.py").stat().st_mode) == 0o644
    assert stat.S_IMODE(result.folder.stat().st_mode) == 0o755


def test_zip_with_another_extension_is_taken_by_content(run):
    result = run(zip_bytes(in_folder("assignment08")), name="assignment08_DoeJane.txt")
    assert result.reason is None and any("zip archive despite its name" in note for note in result.notes)


# --- non-ASCII names ---------------------------------------------------------------------------------------


def test_utf8_flagged_names(run):
    result = run(zip_bytes({**in_folder("Übung/assignment08"), "Übung/assignment08/données.csv": b"1"}))
    assert (result.folder / "données.csv").read_bytes() == b"1"
    assert "found assignment08/ under Übung/" in result.notes


def legacy_names(data: bytes, renames: dict[str, bytes]) -> bytes:
    """Swap ASCII placeholders for raw name bytes, so the names carry no UTF-8 flag (as old tools write them)."""
    for placeholder, raw in renames.items():
        assert len(placeholder.encode()) == len(raw)
        data = data.replace(placeholder.encode(), raw)
    return data


def test_legacy_names_utf8_without_flag_and_cp437(run):
    data = zip_bytes({**in_folder("assignment08"), "assignment08/MXXller.py": b"1", "assignment08/Y.txt": b"2"})
    result = run(legacy_names(data, {"MXXller": "Müller".encode(), "Y.txt": b"\x81.txt"}))
    assert (result.folder / "Müller.py").read_bytes() == b"1"  # macOS: UTF-8 bytes, no flag
    assert (result.folder / "ü.txt").read_bytes() == b"2"  # cp437 0x81 is ü


# --- rejected: unsafe entries --------------------------------------------------------------------------------


@pytest.mark.parametrize(("entry", "phrase"), [
    ("../../etc/passwd", "holds an entry '../../etc/passwd' that points outside the archive"),
    ("assignment08/../../x.py", "that points outside the archive"),
    ("..\\evil.py", "holds an entry '../evil.py' that points outside the archive"),
    ("/etc/cron.d/x", "holds an entry '/etc/cron.d/x' with an absolute path"),
    ("C:\\Windows\\x.py", "holds an entry 'C:/Windows/x.py' with an absolute path"),
    ("\\\\server\\share\\x.py", "with an absolute path"),
])
def test_escaping_entries(run, entry, phrase):
    result = run(zip_bytes({**in_folder("assignment08"), entry: b"pwned"}))
    rejected(result, phrase)
    assert result.reason.endswith("re-create the zip with `zip -r assignment08_DoeJane.zip assignment08`.")


def test_symlink_entry(run):
    link = {"assignment08/data": {"external_attr": (stat.S_IFLNK | 0o777) << 16, "create_system": 3}}
    result = run(zip_bytes({**in_folder("assignment08"), "assignment08/data": b"/etc"}, attrs=link))
    rejected(result, "holds an entry 'assignment08/data' that is a symbolic link")


def test_fifo_entry(run):
    fifo = {"assignment08/pipe": {"external_attr": (stat.S_IFIFO | 0o644) << 16}}
    rejected(run(zip_bytes({**in_folder("assignment08"), "assignment08/pipe": b""}, attrs=fifo)),
             "that is a device, pipe or socket")


def test_encrypted_entry(run):
    secret = {"assignment08/stream_data.py": {"flag_bits": 0x1}}
    rejected(run(zip_bytes(in_folder("assignment08"), attrs=secret)),
             "holds an entry 'assignment08/stream_data.py' that is encrypted (password-protected)")


def test_bzip2_entry(run):
    rejected(run(zip_bytes(in_folder("assignment08"), compression=zipfile.ZIP_BZIP2)),
             "compressed with bzip2, but only stored and deflate are accepted")


# --- rejected: zip bombs -------------------------------------------------------------------------------------


def test_too_many_entries(run):
    rejected(run(zip_bytes({**in_folder("assignment08"), **{f"assignment08/f{i}.txt": b"" for i in range(30)}})),
             "The zip holds 32 entries, more than the limit of 20")


def test_entry_over_limit(run):
    result = run(zip_bytes({**in_folder("assignment08"), "assignment08/big.csv": b"0" * 9_000}))
    rejected(result, "entry 'assignment08/big.csv' of 8.8 KiB uncompressed, more than the limit of 7.8 KiB per file")
    assert not (Path(result.source).parent.parent / "scratch" / "zip" / "assignment08").exists()  # checked first


def test_total_over_limit(run):
    rejected(run(zip_bytes({**in_folder("assignment08"), **{f"assignment08/{i}.csv": b"0" * 7_000 for i in range(3)}})),
             "The zip expands to 20.5 KiB, more than the limit of 19.5 KiB in total")


def lie_about_size(data: bytes, name: str, declared: int) -> bytes:
    """Patch the central directory's uncompressed size of one entry (offset 24 in its record)."""
    at = data.index(b"PK\x01\x02")
    while not data[at + 46 :].startswith(name.encode()):
        at = data.index(b"PK\x01\x02", at + 4)
    return data[: at + 24] + declared.to_bytes(4, "little") + data[at + 28 :]


def test_lying_header_is_refused_and_writes_only_the_declared_bytes(run):
    data = zip_bytes({**in_folder("assignment08"), "assignment08/bomb.csv": b"0" * 100_000})
    result = run(lie_about_size(data, "assignment08/bomb.csv", 10))
    rejected(result, "The zip is damaged or could not be extracted (Bad CRC-32 for file 'assignment08/bomb.csv')")
    bomb = result.source.parent.parent / "scratch" / "zip" / "assignment08" / "bomb.csv"
    assert bomb.stat().st_size <= 10


def test_streaming_counter_catches_what_the_header_hides(run, monkeypatch):
    """If zipfile ever yielded more than declared, the byte counter still stops at the limit."""
    data = zip_bytes(in_folder("assignment08", {"stream_data.py": b"tiny"}))
    monkeypatch.setattr(zipfile.ZipFile, "open", lambda self, info, *a, **k: io.BytesIO(b"0" * 50_000))
    rejected(run(data), "holds an entry 'assignment08/stream_data.py' that expands to more than its header declares")


def test_copy_capped():
    out = io.BytesIO()
    assert _copy_capped(io.BytesIO(b"x" * 300_000), out, 300_000) == 300_000 and len(out.getvalue()) == 300_000
    with pytest.raises(TooLarge):
        _copy_capped(io.BytesIO(b"x" * 300_001), io.BytesIO(), 300_000)


def test_entry_count_is_checked_before_parsing(run, monkeypatch):
    """The end record's count refuses a huge directory before zipfile builds a ZipInfo per entry."""
    data = zip_bytes({**in_folder("assignment08"), **{f"f{i}": b"" for i in range(25)}})
    monkeypatch.setattr(intake_module.zipfile, "ZipFile", None)  # would fail loudly if reached
    rejected(run(data), "The zip holds 27 entries, more than the limit of 20")


# --- rejected: not a usable zip ------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "content", "phrase"), [
    ("assignment08_DoeJane.zip", b"", "is an empty file (0 bytes), not a zip"),
    ("assignment08_DoeJane.zip", b"just some text\n", "is named .zip but is not a zip archive"),
    ("assignment08_DoeJane.tar.gz", b"\x1f\x8b\x08\0\0\0", "is a .tar.gz file, not a zip or a folder"),
    ("assignment08_DoeJane.pdf", b"%PDF-1.7\n", "is a .pdf file, not a zip or a folder"),
    ("assignment08_DoeJane", b"hello", "is a file without an extension, not a zip or a folder"),
])
def test_not_a_zip(run, name, content, phrase):
    result = run(content, name=name)
    rejected(result, phrase)
    assert "upload your assignment08 folder as a zip made with `zip -r assignment08_DoeJane.zip" in result.reason


def test_truncated_zip(run):
    data = zip_bytes(in_folder("assignment08"))
    rejected(run(data[: len(data) // 2]), "is a damaged or truncated zip that cannot be read")


def test_corrupt_central_directory(run):
    data = bytearray(zip_bytes(in_folder("assignment08")))
    at = data.index(b"PK\x01\x02")
    data[at : at + 4] = b"XXXX"
    rejected(run(bytes(data)), "The zip is damaged or could not be extracted")


def test_corrupt_data(run):
    data = bytearray(zip_bytes(in_folder("assignment08", {"stream_data.py": bytes(range(256)) * 20})))
    data[100:140] = b"\xff" * 40
    rejected(run(bytes(data)), "The zip is damaged or could not be extracted")


def test_empty_zip(run):
    rejected(run(zip_bytes({})), "The zip is empty;")


def test_no_contract_files(run):
    rejected(run(zip_bytes({"assignment08/main.py": b"", "README.md": b""})),
             "The zip holds no stream_data.py or stream_queries.py;")


def test_only_clutter(run):
    rejected(run(zip_bytes({"__MACOSX/._stream_data.py": b"", ".DS_Store": b""})),
             "The zip holds no stream_data.py or stream_queries.py;")


def test_missing_path(run, tmp_path):
    rejected(run(tmp_path / "nope.zip"), "The submission 'nope.zip' does not exist")


def test_folder_without_contract_files(run, tmp_path):
    (tmp_path / "uploads" / "DoeJane").mkdir(parents=True)
    rejected(run(tmp_path / "uploads" / "DoeJane"), "The folder 'DoeJane' holds no stream_data.py or stream_queries.py")


# --- zips inside zips ----------------------------------------------------------------------------------------


def test_zip_inside_zip_is_unwrapped(run):
    inner = zip_bytes({**in_folder("assignment08"), "__MACOSX/._x": b""})
    result = run(zip_bytes({"assignment08.zip": inner, "__MACOSX/._assignment08.zip": b""}))
    assert result.reason is None and result.folder.name == "assignment08"
    assert "unwrapped the inner zip assignment08.zip" in result.notes
    assert (result.folder / "stream_data.py").read_bytes() == b"# data\n"


def test_inner_zip_gets_the_same_checks(run):
    inner = zip_bytes({**in_folder("assignment08"), "../escape.py": b""})
    rejected(run(zip_bytes({"sub/inner.zip": inner})),
             "The inner zip 'sub/inner.zip' holds an entry '../escape.py' that points outside the archive")


def test_limits_apply_to_outer_and_inner_together(run):
    inner = zip_bytes({**in_folder("assignment08"), **{f"{i}.csv": b"0" * 6_000 for i in range(3)}})
    outer = zip_bytes({"inner.zip": inner, "data.csv": b"0" * 7_000})  # each zip alone is within the limit
    rejected(run(outer), "The inner zip 'inner.zip' expands to")


def test_zip_inside_zip_inside_zip(run):
    level3 = zip_bytes(in_folder("assignment08"))
    rejected(run(zip_bytes({"a.zip": zip_bytes({"b.zip": level3})})),
             "The zip holds a zip inside a zip inside a zip ('b.zip' inside 'a.zip') and only one level is unwrapped")


def test_several_inner_zips(run):
    one = zip_bytes(in_folder("assignment08"))
    rejected(run(zip_bytes({"a.zip": one, "b.zip": one})),
             "The zip holds no stream_data.py or stream_queries.py, only 2 zip files ('a.zip' and 'b.zip')")


# --- never raises --------------------------------------------------------------------------------------------


def test_mutated_zips_never_raise(tmp_path):
    good = zip_bytes({**in_folder("assignment08"), "assignment08/x.csv": bytes(range(256)) * 4})
    rng = random.Random(650)
    for i in range(300):
        data = bytearray(good)
        for _ in range(rng.randint(1, 4)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        upload = tmp_path / f"assignment08_Fuzz{i}.zip"
        upload.write_bytes(bytes(data[: rng.choice([len(data), rng.randrange(len(data))])]))
        result = take_in(upload, tmp_path / f"scratch{i}", SMALL)
        assert (result.folder is None) != (result.reason is None)


# --- student ids ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "expected"), [
    ("assignment08_DoeJane.zip", "DoeJane"),
    ("Assignment08_DoeJane.ZIP", "DoeJane"),
    ("assignment8_DoeJane.zip", "DoeJane"),
    ("assignment08-DoeJane.zip", "DoeJane"),
    ("assignment 08 - Doe Jane.zip", "Doe_Jane"),
    ("assignment08_DoeJane (1).zip", "DoeJane"),
    ("assignment08_DoeJane (1) (2).zip", "DoeJane"),
    ("assignment08_DoeJane - Copy.zip", "DoeJane"),
    ("assignment08_DoeJane-2.zip", "DoeJane"),
    ("assignment08_DoeJane2.zip", "DoeJane2"),
    ("doejane_12345_67890_assignment08_DoeJane-1.zip", "DoeJane"),
    ("assignment08_MüllerJürgen.zip", "MullerJurgen"),
    ("assignment08_StraußØrjan.zip", "StraussOrjan"),
    ("assignment08_O'Brien.zip", "OBrien"),
    ("assignment08_DoeJane.tar.gz", "DoeJane"),
    ("uploads/assignment08_DoeJane", "DoeJane"),
    ("C:\\Users\\x\\assignment08_DoeJane.zip", "DoeJane"),
    ("jane_final.zip", "jane_final"),
    ("assignment08.zip", "assignment08"),
    ("assignment08 (1).zip", "assignment08"),
    ("assignment08_2.zip", "2"),
    ("assignment08_张伟.zip", "submission"),
    ("assignment08_...zip", "submission"),
    ("..", "submission"),
    ("", "submission"),
    ("assignment08_../../etc.zip", "etc"),
    ("assignment08_" + "x" * 300 + ".zip", "x" * 80),
])
def test_student_id(name, expected):
    assert student_id(name) == expected


def test_a_folder_submission_never_brings_a_symbolic_link_into_the_sandbox(tmp_path: Path) -> None:
    """A link inside a submitted folder could lead into the grader's files: it is left out, and said."""
    folder = tmp_path / "assignment08"
    folder.mkdir()
    (folder / "stream_data.py").write_text("x = 1\n")
    (folder / "stream_queries.py").write_text("y = 1\n")
    (folder / "goldens").symlink_to(BUNDLED_EXPECTED)
    (folder / "notes.txt").symlink_to("/etc/passwd")
    submission, _, notes = prepare(tmp_path / "work", folder, BUNDLED_DATA)
    assert sorted(p.name for p in submission.iterdir()) == ["stream_data.py", "stream_queries.py"]
    assert notes == ["left out 2 symbolic link(s) (goldens, notes.txt): links are not followed; put the real files in the folder"]
