"""LMS bulk downloads in, grade files out: every download here is built in tmp_path (tests/lms_downloads.py)."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from grader.batch import grade_batch
from grader.intake import DOWNLOAD_LIMITS, IntakeLimits, Rejected, take_in
from grader.lms.detect import detect, split
from grader.lms.export import export
from grader.lms.members import Member
from grader.reports import GRADEBOOK_FIELDS, write_gradebook
from grader.rubric import DEFAULT_RUBRIC, load_rubric
from grader.verdict import Grade, rejected
from tests.conftest import PROJECT, grading
from tests.lms_downloads import (
    blackboard_files,
    canvas_files,
    moodle_files,
    solution,
    write_folder,
    write_zip,
    zipped,
)

RUBRIC = load_rubric(DEFAULT_RUBRIC)
GOOD = {"stream_data.py": b"# data\n", "stream_queries.py": b"# queries\n"}  # enough for the intake, never run


def members(tmp_path: Path, kind: str, files: dict[str, bytes], as_folder: bool = False) -> dict[str, Member]:
    download = write_folder(tmp_path / "unzipped", files) if as_folder else write_zip(tmp_path / f"{kind}.zip", files)
    assert detect(download) == kind
    found = split(download, tmp_path / "scratch", DOWNLOAD_LIMITS, kind)
    return {m.identity: m for m in found.members}


def taken_in(member: Member, tmp_path: Path) -> dict[str, bytes]:
    """The files the ordinary intake takes in for a member: what would be graded."""
    assert member.path is not None, member.reason
    scratch = tmp_path / f"intake-{member.student}"
    scratch.mkdir()
    intake = take_in(member.path, scratch, IntakeLimits(), member.name)
    assert intake.folder is not None, intake.reason
    return {p.name: p.read_bytes() for p in intake.folder.glob("*.py")}


@pytest.mark.parametrize("as_folder", [False, True], ids=["zip", "folder"])
@pytest.mark.parametrize("kind", ["blackboard", "canvas", "moodle"])
def test_each_lms_download_is_told_by_its_names(tmp_path: Path, kind: str, as_folder: bool) -> None:
    files = {"blackboard": blackboard_files, "canvas": canvas_files, "moodle": moodle_files}[kind](GOOD)
    download = write_folder(tmp_path / "d", files) if as_folder else write_zip(tmp_path / "d.zip", files)
    assert detect(download) == kind


def test_an_ordinary_upload_is_no_download(tmp_path: Path) -> None:
    assert detect(write_zip(tmp_path / "assignment08_DoeJane.zip", {f"assignment08/{n}": c for n, c in GOOD.items()})) is None
    assert detect(write_folder(tmp_path / "assignment08", GOOD)) is None
    assert detect(write_folder(tmp_path / "uploads", {"assignment08_DoeJane.zip": zipped(GOOD)})) is None
    (tmp_path / "not-a-zip.zip").write_bytes(b"PK\x03\x04 truncated")
    assert detect(tmp_path / "not-a-zip.zip") is None


@pytest.mark.parametrize("as_folder", [False, True], ids=["zip", "folder"])
def test_blackboard_each_student_once_on_the_latest_attempt(tmp_path: Path, as_folder: bool) -> None:
    found = members(tmp_path, "blackboard", blackboard_files(GOOD), as_folder)
    assert sorted(found) == ["bsmith", "jdoe", "k_li", "rroe"]
    assert {m.name for m in found.values()} == {"Bob Smith", "Jane Doe", "Kim Li", "Rick Roe"}
    bob = found["bsmith"]
    assert "2026-11-29-19-40-12" in bob.source and bob.notes == [
        "graded the latest attempt (2026-11-29-19-40-12); older attempt(s) not graded: 2026-11-27-08-02-55"]
    assert taken_in(bob, tmp_path) == GOOD, "the older, broken attempt is not the one graded"
    assert taken_in(found["k_li"], tmp_path) == GOOD, "loose .py files, renamed by Blackboard, are one submission"
    assert taken_in(found["jdoe"], tmp_path) == GOOD
    assert {m.student for m in found.values()} == set(found), "report folders are the usernames"
    assert found["rroe"].path is None and "has a receipt but no files" in found["rroe"].reason


def test_blackboard_files_of_no_student_and_attempts_without_receipt_are_said(tmp_path: Path) -> None:
    files = {**blackboard_files(GOOD), "Assignment 8_ghost_attempt_2026-11-30-12-00-00_assignment08.zip": zipped(GOOD),
             "index.html": b"<html></html>"}
    download = split(write_zip(tmp_path / "bb.zip", files), tmp_path / "s", DOWNLOAD_LIMITS, "blackboard")
    assert download.notes == ["not a Blackboard attempt's file, so no student's: index.html"]
    ghost = next(m for m in download.members if m.identity == "ghost")
    assert ghost.notes == ["the attempt of 2026-11-30-12-00-00 has no receipt in the download"]
    assert taken_in(ghost, tmp_path) == GOOD


def test_a_receipt_whose_files_are_missing_is_the_downloads_fault(tmp_path: Path) -> None:
    files = {n: c for n, c in blackboard_files(GOOD).items() if not (n.startswith("Assignment 8_jdoe_") and n.endswith(".zip"))}
    jane = members(tmp_path, "blackboard", files)["jdoe"]
    assert jane.path is None and "the download does not hold it; download the attempt again" in jane.reason
    assert "re-create" not in jane.reason


def test_canvas_late_resubmitted_and_loose_files(tmp_path: Path) -> None:
    found = members(tmp_path, "canvas", canvas_files(GOOD))
    assert sorted(found) == ["12345", "23456", "34567"]
    bob = found["23456"]
    assert bob.name == "smithbob" and bob.student == "smithbob_23456"
    assert "Canvas marked this submission LATE" in bob.notes
    assert bob.source == "smithbob_LATE_23456_70002_assignment08_SmithBob-1.zip", "the newest file (by its id) is graded"
    assert any("70001" in note for note in bob.notes), "the other zip is named, not silently dropped"
    assert taken_in(bob, tmp_path) == GOOD
    assert taken_in(found["34567"], tmp_path) == GOOD


def test_canvas_strips_the_duplicate_suffix_of_loose_files(tmp_path: Path) -> None:
    files = {"lianna_34567_70005_stream_data-1.py": GOOD["stream_data.py"],
             "lianna_34567_70006_stream_queries.py": GOOD["stream_queries.py"]}
    assert taken_in(members(tmp_path, "canvas", files)["34567"], tmp_path) == GOOD


@pytest.mark.parametrize("flat", [False, True], ids=["folders", "flat"])
def test_moodle_participants_and_a_student_with_nothing_gradable(tmp_path: Path, flat: bool) -> None:
    files = {(name.replace("/", "_") if flat else name): content for name, content in moodle_files(GOOD).items()}
    found = members(tmp_path, "moodle", files)
    assert sorted(found) == ["100001", "100002", "100003"]
    assert found["100001"].name == "Jane Doe" and found["100001"].submitted == "Monday, 30 November 2026, 9:14 PM"
    assert taken_in(found["100001"], tmp_path) == GOOD and taken_in(found["100002"], tmp_path) == GOOD
    kim = found["100003"]
    assert kim.path is None and "only notes.pdf" in kim.reason and "re-create" not in kim.reason


def raw_zip(path: Path, entries: dict[str, bytes], links: tuple[str, ...] = ()) -> Path:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for name, content in entries.items():
            info = zipfile.ZipInfo(name)
            if name in links:
                info.external_attr = 0o120777 << 16
            zf.writestr(info, content)
    path.write_bytes(buffer.getvalue())
    return path


@pytest.mark.parametrize(("entry", "link", "phrase"), [
    ("../Assignment 8_eve_attempt_2026-11-30-12-00-00_x.py", False, "points outside the archive"),
    ("Assignment 8_eve_attempt_2026-11-30-12-00-00_stream_data.py", True, "symbolic link"),
])
def test_the_download_itself_is_checked_as_any_upload(tmp_path: Path, entry: str, link: bool, phrase: str) -> None:
    files = {**blackboard_files(GOOD), entry: b"/etc/passwd"}
    download = raw_zip(tmp_path / "bb.zip", files, (entry,) if link else ())
    with pytest.raises(Rejected) as refusal:
        split(download, tmp_path / "s", DOWNLOAD_LIMITS, "blackboard")
    assert phrase in str(refusal.value) and "download it again" in str(refusal.value)
    assert "re-create the zip" not in str(refusal.value), "that advice is for a student's own upload"
    assert not (tmp_path / "etc").exists()


def test_limits_hold_for_a_download_folder_and_its_links_are_not_followed(tmp_path: Path) -> None:
    root = write_folder(tmp_path / "bb", blackboard_files(GOOD))
    os.symlink("/etc/passwd", root / "Assignment 8_eve_attempt_2026-11-30-12-00-00_stream_data.py")
    os.symlink("/etc", root / "etc")
    download = split(root, tmp_path / "s", DOWNLOAD_LIMITS, "blackboard")
    assert [note.split(":")[0] for note in download.notes] == [
        "left out 'etc'/", "left out 'Assignment 8_eve_attempt_2026-11-30-12-00-00_stream_data.py'"]
    assert "eve" not in {m.identity for m in download.members}
    with pytest.raises(Rejected, match="more than the limits"):
        split(root, tmp_path / "s2", IntakeLimits(max_entries=3), "blackboard")


def test_a_students_own_bad_zip_is_still_the_intakes_to_refuse(tmp_path: Path) -> None:
    bad = raw_zip(tmp_path / "inner.zip", {"assignment08/stream_data.py": b"/etc/passwd"}, ("assignment08/stream_data.py",))
    files = {"doejane_12345_67890_assignment08_DoeJane.zip": bad.read_bytes()}
    jane = members(tmp_path, "canvas", files)["12345"]
    intake = take_in(jane.path, tmp_path / "i", IntakeLimits(), "DoeJane")
    assert intake.folder is None and "symbolic link" in intake.reason
    assert "zip -r assignment08_DoeJane.zip assignment08" in intake.reason, "her own upload: re-create it, named for her"


def lms_grade(member: Member, score_of: dict[str, float]) -> Grade:
    grade = rejected(member.student, member.source, "", RUBRIC)
    grade.status, grade.reason = "graded", ""
    for check in grade.checks:
        check.score, check.passed = (check.max_score, True) if check.part in score_of else (0.0, False)
        check.summary = "wrong rows" if not check.passed else "ok"
    grade.notes = list(member.notes)
    grade.lms = member.lms_columns()
    return grade


def gradebook(tmp_path: Path, kind: str) -> Path:
    files = {"blackboard": blackboard_files, "canvas": canvas_files, "moodle": moodle_files}[kind](GOOD)
    found = members(tmp_path, kind, files)
    grades = [lms_grade(m, {"8.1": 1, "8.2a": 1} if n % 2 else {p: 1 for p in RUBRIC.parts}) for n, m in enumerate(found.values())]
    path = tmp_path / "out" / "gradebook.csv"
    path.parent.mkdir()
    write_gradebook(grades, RUBRIC, path)
    return path


def test_blackboard_upload_file(tmp_path: Path) -> None:
    path, warnings = export(gradebook(tmp_path, "blackboard"), "blackboard", RUBRIC, "Assignment 8 [Total Pts: 26 Score] |123456")
    assert warnings == [] and path.name == "blackboard-upload.csv"
    data = path.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf\"Last Name\",\"First Name\",\"Username\",\"Assignment 8 [Total Pts: 26 Score] |123456\"")
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    assert [(r["Username"], r["Last Name"], r["First Name"]) for r in rows] == [
        ("bsmith", "Smith", "Bob"), ("jdoe", "Doe", "Jane"), ("k_li", "Li", "Kim"), ("rroe", "Roe", "Rick")]
    assert rows[0]["Assignment 8 [Total Pts: 26 Score] |123456"] == "26"
    assert rows[1]["Assignment 8 [Total Pts: 26 Score] |123456"] == "14"
    assert rows[1]["Feedback to Learner"].startswith("Assignment 8: 14/26 (8.1 10/10, 8.2a 4/4, 8.2b 0/6, 8.2c 0/6).")
    assert "feedback.md" in rows[1]["Feedback to Learner"] and rows[1]["Feedback Format"] == "SMART_TEXT"


def test_canvas_and_moodle_import_files_carry_the_ids_they_match_on(tmp_path: Path) -> None:
    path, _ = export(gradebook(tmp_path / "c", "canvas"), "canvas", RUBRIC)
    lines = path.read_text().splitlines()
    assert lines[:2] == ["Student,ID,SIS User ID,SIS Login ID,Section,Assignment 8", "    Points Possible,,,,,26"]
    assert lines[2:] == ["doejane,12345,,,,26", "smithbob,23456,,,,14", "lianna,34567,,,,26"]
    path, _ = export(gradebook(tmp_path / "m", "moodle"), "moodle", RUBRIC)
    rows = list(csv.DictReader(path.open()))
    assert list(rows[0])[:5] == ["Identifier", "Full name", "Grade", "Maximum Grade", "Last modified (grade)"]
    assert [(r["Identifier"], r["Grade"]) for r in rows] == [("Participant 100001", "26"), ("Participant 100002", "14"),
                                                            ("Participant 100003", "26")]
    assert rows[0]["Last modified (grade)"] == "Monday, 30 November 2026, 9:14 PM", "the submission's time, not the clock's"
    assert "feedback.md" in rows[1]["Feedback comments"]


def test_grade_files_are_the_same_bytes_twice(tmp_path: Path) -> None:
    for kind in ("blackboard", "canvas", "moodle"):
        book = gradebook(tmp_path / kind, kind)
        first = export(book, kind, RUBRIC)[0].read_bytes()
        assert export(book, kind, RUBRIC)[0].read_bytes() == first


def test_the_gradebook_of_ordinary_uploads_keeps_its_columns(tmp_path: Path) -> None:
    write_gradebook([rejected("DoeJane", "assignment08_DoeJane.zip", "no", RUBRIC)], RUBRIC, tmp_path / "g.csv")
    header = (tmp_path / "g.csv").read_text().splitlines()[0].split(",")
    assert header == [*GRADEBOOK_FIELDS, *RUBRIC.parts, "isolation", "review", "reason"]


def test_lms_export_from_an_earlier_gradebook(tmp_path: Path) -> None:
    book = gradebook(tmp_path, "blackboard")
    run = [sys.executable, "-m", "grader", "lms-export"]
    done = subprocess.run([*run, str(book), "--lms", "canvas", "--column", "Assignment 8 (4321)"], capture_output=True,
                          text=True, cwd=PROJECT, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "warning: the gradebook holds Blackboard identities, not Canvas's" in done.stderr
    assert (book.parent / "canvas-import.csv").read_text().splitlines()[2] == "Bob Smith,bsmith,,,,26"
    done = subprocess.run([*run, str(book)], capture_output=True, text=True, cwd=PROJECT, timeout=60)
    assert done.returncode == 0 and (book.parent / "blackboard-upload.csv").is_file(), done.stderr
    write_gradebook([rejected("DoeJane", "assignment08_DoeJane.zip", "no", RUBRIC)], RUBRIC, tmp_path / "plain.csv")
    done = subprocess.run([*run, str(tmp_path / "plain.csv")], capture_output=True, text=True, cwd=PROJECT, timeout=60)
    assert done.returncode == 2 and "say which LMS with --lms" in done.stderr


def test_members_with_nothing_to_grade_get_rows_without_spark(tmp_path: Path) -> None:
    found = members(tmp_path, "moodle", {"Kim Li_100003_assignsubmission_file/notes.pdf": b"%PDF",
                                         "Ann Ode_100004_assignsubmission_file/report.docx": b"PK"})
    result = grade_batch([], tmp_path / "out", grading(), members=list(found.values()))
    rows = {r["lms_id"]: r for r in csv.DictReader((tmp_path / "out" / "gradebook.csv").open())}
    assert sorted(rows) == ["100003", "100004"] and result.grader_errors == 0
    assert rows["100003"]["student"] == "Kim_Li_100003" and rows["100003"]["status"] == "rejected"
    assert "only notes.pdf" in rows["100003"]["reason"] and rows["100003"]["lms_name"] == "Kim Li"
    assert (tmp_path / "out" / "Kim_Li_100003" / "feedback.md").is_file()
    report = json.loads((tmp_path / "out" / "Kim_Li_100003" / "results.json").read_text())
    assert report["extra_data"]["lms"] == {"lms": "Moodle", "lms_id": "100003", "lms_name": "Kim Li",
                                           "lms_submitted": "Monday, 30 November 2026, 9:14 PM"}


@pytest.mark.spark
def test_a_blackboard_download_graded_end_to_end(tmp_path: Path) -> None:
    """One real grading: bsmith's latest of two attempts (the older one broken) scores full marks; rroe's
    empty attempt is a row; a stray file is a note; the upload file has a row per username. (k_li's loose
    files and jdoe's plain zip are left out, to keep to one JVM: the intake tests above show what they become.)"""
    files = {name: content for name, content in blackboard_files(solution()).items() if "_bsmith_" in name or "_rroe_" in name}
    download = write_zip(tmp_path / "gradebook_BB-DSC650_Assignment8_2026-12-01-09-00-00.zip", {**files, "index.html": b"<p>"})
    out = tmp_path / "out"
    done = subprocess.run([sys.executable, "-m", "grader", "grade", str(download), "--out", str(out),
                           "--column", "Assignment 8 [Total Pts: 26 Score] |123456"],
                          capture_output=True, text=True, cwd=PROJECT, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    rows = {r["lms_id"]: r for r in csv.DictReader((out / "gradebook.csv").open())}
    assert {k: (r["score"], r["status"]) for k, r in rows.items()} == {"bsmith": ("26", "graded"), "rroe": ("0", "rejected")}
    assert "older attempt(s) not graded: 2026-11-27-08-02-55" in rows["bsmith"]["notes"]
    assert (out / "bsmith" / "feedback.md").is_file() and (out / "rroe" / "results.json").is_file()
    assert "index.html" in (out / "download-notes.txt").read_text() and "note: " in done.stderr
    upload = list(csv.reader((out / "blackboard-upload.csv").open(encoding="utf-8-sig")))
    assert upload[0][3] == "Assignment 8 [Total Pts: 26 Score] |123456"
    assert [(r[2], r[3]) for r in upload[1:]] == [("bsmith", "26"), ("rroe", "0")]


def test_a_glob_of_an_unzipped_download_is_one_download(tmp_path: Path) -> None:
    """`grader grade 'unzipped/*'`: the shell's (or the grader's) glob of the download's files, not many uploads."""
    from grader.lms.detect import glob_of_one

    root = write_folder(tmp_path / "unzipped", blackboard_files(GOOD))
    (root / "other.txt").write_text("not in the glob")
    paths = sorted(p for p in root.iterdir() if p.name != "other.txt")
    assert glob_of_one(paths) == (root, "blackboard")
    found = split(root, tmp_path / "s", DOWNLOAD_LIMITS, "blackboard", {p.name for p in paths})
    assert sorted(m.identity for m in found.members) == ["bsmith", "jdoe", "k_li", "rroe"] and found.notes == []
    uploads = [write_zip(tmp_path / "subs" / f"assignment08_{n}.zip", {"assignment08/stream_data.py": b"#"}) for n in "AB"]
    assert glob_of_one(uploads) is None, "ordinary uploads stay uploads"
    moodle = write_folder(tmp_path / "m", moodle_files(GOOD))
    assert glob_of_one(sorted(moodle.iterdir())) == (moodle, "moodle")


def test_grade_on_a_glob_of_a_moodle_folder_writes_rows_and_the_worksheet(tmp_path: Path) -> None:
    """The command's wiring, with no student code to run (no JVM): two students with nothing gradable, a stray."""
    root = write_folder(tmp_path / "unzipped", {"Kim Li_100003_assignsubmission_file/notes.pdf": b"%PDF",
                                                "Ann Ode_100004_assignsubmission_file/report.docx": b"PK",
                                                "Ann Ode_100004_assignsubmission_onlinetext/onlinetext.html": b"<p>"})
    out = tmp_path / "out"
    done = subprocess.run([sys.executable, "-m", "grader", "grade", f"{root}/*", "--out", str(out), "--no-class-archive"],
                          capture_output=True, text=True, cwd=PROJECT, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "unzipped: a Moodle download of 2 student(s)" in done.stderr
    rows = list(csv.DictReader((out / "moodle-worksheet.csv").open()))
    assert [(r["Identifier"], r["Grade"]) for r in rows] == [("Participant 100003", "0"), ("Participant 100004", "0")]
    assert "only report.docx" in rows[1]["Feedback comments"]
    assert "onlinetext.html" in (out / "download-notes.txt").read_text()


def test_a_nonsense_file_time_in_a_moodle_download_is_no_date() -> None:
    from grader.lms.moodle import when

    assert when((2026, 0, 0, 0, 0, 0)) == "" and when(None) == ""
    assert when((2026, 12, 1, 0, 5, 0)) == "Tuesday, 1 December 2026, 12:05 AM"
