"""Taking in a submission (a zip or a folder) before any student code runs.

Zips are untrusted: every entry is checked against the central directory before anything is written,
then streamed out with a byte counter, because declared sizes can lie. Each refusal is one sentence.
"""

from __future__ import annotations

import lzma
import os
import re
import stat
import struct
import unicodedata
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from grader.contract import CONTRACT_FILES

CHUNK = 1 << 16
NO_CONTRACT = "holds no stream_data.py or stream_queries.py"
_NAMED = re.compile(r"assignment[ _-]?0*8", re.I)  # the folder preferred among candidates
_PRUNE = {"__MACOSX", "__pycache__"}  # never searched for contract files or inner zips
_CLUTTER = ("__MACOSX/", ".DS_Store", "._* (macOS resource forks)", "__pycache__/", "*.pyc")  # as the notes say
_ID = re.compile(r"(?:^|[\s_-])assignment[\s_-]*0*8(?:[\s_-]+(?P<who>.+))?$", re.I)
_DOWNLOAD_SUFFIX = re.compile(r"(\s*\(\d+\)|\s+-\s+copy(\s*\(\d+\))?)$", re.I)  # "x (1)", "x - Copy"
_RESUBMIT_SUFFIX = re.compile(r"[\s_-]+\d{1,2}$")  # the LMS's "-2" on a second attempt
_FILE_SUFFIX = re.compile(r"(\.(zip|tar|gz|tgz|bz2|xz|7z|rar|pdf|txt))+$", re.I)
_METHODS = {9: "Deflate64", 12: "bzip2", 14: "LZMA", 93: "Zstandard", 98: "PPMd"}
_NO_NFKD = str.maketrans({"ß": "ss", "Æ": "AE", "æ": "ae", "Ø": "O", "ø": "o", "Ł": "L", "ł": "l",
                          "Đ": "D", "đ": "d", "Þ": "Th", "þ": "th", "Œ": "OE", "œ": "oe"})
# What reading a hostile or broken zip can raise; anything else is a bug in the grader.
_UNREADABLE = (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError, ValueError, NotImplementedError,
               RuntimeError, OverflowError, struct.error, zlib.error, lzma.LZMAError)


@dataclass(frozen=True)
class IntakeLimits:
    max_total_bytes: int = 200 * 2**20  # total uncompressed size, an inner zip's content included
    max_entry_bytes: int = 50 * 2**20  # one entry uncompressed
    max_entries: int = 2000  # an inner zip's entries included


# A class's bulk download: any one file as big as one upload may be, the whole as a class of a hundred's.
DOWNLOAD_LIMITS = IntakeLimits(max_total_bytes=2 * 2**30, max_entry_bytes=50 * 2**20, max_entries=20_000)
DOWNLOAD_FIX = "download it again from the LMS, unchanged"


@dataclass
class Intake:
    source: Path
    student: str
    folder: Path | None = None
    reason: str | None = None
    notes: list[str] = field(default_factory=list)


class Rejected(Exception):
    """A submission we will not take in; the message is the one sentence the student reads."""


class TooLarge(Exception):
    """An entry produced more bytes than it may."""


def student_id(name: str) -> str:
    """The student's id from the upload's name; sanitised, because it becomes a folder under the reports dir."""
    stem = _FILE_SUFFIX.sub("", name.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1])
    while (shorter := _DOWNLOAD_SUFFIX.sub("", stem)) != stem:
        stem = shorter
    match = _ID.search(stem)
    who = (_RESUBMIT_SUFFIX.sub("", match["who"]) or match["who"]) if match and match["who"] else stem
    text = unicodedata.normalize("NFKD", who.translate(_NO_NFKD)).encode("ascii", "ignore").decode()
    text = re.sub(r"[^A-Za-z0-9._-]", "", re.sub(r"\s+", "_", text.strip()))[:80].strip("._-")
    return text or "submission"


def find_folder(root: Path) -> Path | None:
    """The folder under root holding the contract's files, or None."""
    found = _candidates(Path(root))
    return found[0][0] if found else None


def _candidates(root: Path) -> list[tuple[Path, list[str]]]:
    """Folders holding a contract file, best first: named assignment08, then shallowest, then most complete."""
    found = []
    for here, dirs, files in os.walk(root):  # does not descend into symlinked folders
        dirs[:] = sorted(d for d in dirs if d not in _PRUNE and not d.startswith("."))
        present = [n for n in CONTRACT_FILES if n in files and not os.path.islink(os.path.join(here, n))]
        if present:
            found.append((Path(here), present))

    def rank(item: tuple[Path, list[str]]) -> tuple:
        rel = item[0].relative_to(root)
        return (not _NAMED.fullmatch(item[0].name), len(rel.parts), -len(item[1]), rel.as_posix())

    return sorted(found, key=rank)


def take_in(path: Path, scratch: Path, limits: IntakeLimits, student: str | None = None) -> Intake:
    """Take in one upload; anything wrong with the input becomes ``Intake.reason``, never an exception.
    ``student``: who it is when the file's name does not say (an LMS's download names the student)."""
    path = Path(path)
    intake = Intake(source=path, student=student or student_id(path.name))
    try:
        _Taker(intake, Path(scratch), limits).run()
    except Rejected as refusal:
        intake.folder, intake.reason = None, str(refusal)
    return intake


def unpack_download(path: Path, dest: Path, limits: IntakeLimits) -> list[str]:
    """Unzip an LMS's bulk download under the checks every upload gets (each student's own zip inside it is
    taken in later, as any upload); raises Rejected, whose advice is the instructor's, not a student's."""
    intake = Intake(source=Path(path), student="download")
    taker = _Taker(intake, Path(dest), limits, fix=DOWNLOAD_FIX)
    Path(dest).mkdir(parents=True)
    taker.unzip(Path(path), Path(dest), f"The download {_show(Path(path).name)}")
    return intake.notes


@dataclass
class _Taker:
    intake: Intake
    scratch: Path
    limits: IntakeLimits
    entries: int = 0  # counted over the outer and the inner zip: the limits apply to the total
    written: int = 0
    fix: str = ""  # what to do instead of re-creating the zip: an LMS's download is not the student's to re-create

    @property
    def command(self) -> str:
        return f"`zip -r assignment08_{self.intake.student}.zip assignment08`"

    @property
    def remedy(self) -> str:
        return self.fix or f"re-create the zip with {self.command}"

    def run(self) -> None:
        path, name, fix = self.intake.source, _show(self.intake.source.name), f"re-create the zip with {self.command}"
        try:
            if path.is_dir():
                if not self.place(path, "folder"):
                    raise Rejected(f"The folder {name} {NO_CONTRACT}; put them in an assignment08/ folder.")
                return
            if not path.is_file():
                raise Rejected(f"The submission {name} does not exist or is not a file or a folder.")
            if not zipfile.is_zipfile(path):
                raise Rejected(f"The submission {name} {self.not_a_zip(path)}.")
        except OSError as error:
            raise Rejected(f"The submission {name} could not be opened ({_detail(error)}).") from None
        if path.suffix.lower() != ".zip":
            self.intake.notes.append(f"{path.name} is a zip archive despite its name; took it in as one")
        outer, inner = self.scratch / "zip", self.scratch / "inner"
        outer.mkdir(parents=True)  # outside any guard: a used scratch folder is the caller's bug
        self.unzip(path, outer, "The zip")
        if self.place(outer, "zip"):
            return
        if len(zips := _zips(outer)) != 1:
            shown = [_show(z.relative_to(outer).as_posix()) for z in zips[:3]]
            shown += [f"{len(zips) - 3} more"] if len(zips) > 3 else []
            listed = f", only {len(zips)} zip files ({_listing(shown)})" if zips else ""
            raise Rejected(f"The zip {NO_CONTRACT}{listed}; {fix}.")
        rel = zips[0].relative_to(outer).as_posix()
        self.intake.notes.append(f"unwrapped the inner zip {rel}")
        inner.mkdir()
        self.unzip(zips[0], inner, f"The inner zip {_show(rel)}")
        if self.place(inner, "zip"):
            return
        if third := _zips(inner):
            raise Rejected(f"The zip holds a zip inside a zip inside a zip ({_show(third[0].name)} inside "
                           f"{_show(rel)}) and only one level is unwrapped; {fix}.")
        raise Rejected(f"The inner zip {_show(rel)} {NO_CONTRACT}; {fix}.")

    def not_a_zip(self, path: Path) -> str:
        """What the file is instead, and what to upload."""
        with path.open("rb") as file:
            head = file.read(4)
        if head.startswith(b"PK"):
            return f"is a damaged or truncated zip that cannot be read; re-create the zip with {self.command}"
        if not head:
            what = "is an empty file (0 bytes), not a zip"
        elif path.suffix.lower() == ".zip":
            what = "is named .zip but is not a zip archive"
        else:
            kind = "".join(path.suffixes[-2:]) if path.suffixes[-2:-1] == [".tar"] else path.suffix
            what = f"is {f'a {kind} file' if kind else 'a file without an extension'}, not a zip or a folder"
        return f"{what}; upload your assignment08 folder as a zip made with {self.command}"

    def unzip(self, archive: Path, dest: Path, label: str) -> None:
        """Check every entry against the central directory, then stream the kept ones out under dest."""
        fix = self.remedy
        try:
            self.count(_declared_count(archive), label)  # before zipfile builds one ZipInfo per entry
            with zipfile.ZipFile(archive) as zf:
                self.count(len(zf.infolist()), label)
                self.entries += len(zf.infolist())
                if not zf.infolist():
                    raise Rejected(f"{label} is empty; {fix}.")
                plan, ignored = self.plan(zf, label, fix)
                for info, name, parts in plan:
                    target = dest.joinpath(*parts)
                    if not target.resolve().is_relative_to(dest.resolve()):  # check() refused it already; be sure
                        raise Rejected(f"{label} holds an entry {_show(name)} that points outside the archive; {fix}.")
                    if name.endswith("/"):
                        target.mkdir(parents=True, exist_ok=True)
                        continue
                    target.parent.mkdir(parents=True, exist_ok=True)
                    cap = min(self.limits.max_entry_bytes, self.limits.max_total_bytes - self.written)
                    with zf.open(info) as src, _create(target) as dst:
                        try:
                            self.written += _copy_capped(src, dst, cap)
                        except TooLarge:
                            raise Rejected(f"{label} holds an entry {_show(name)} that expands to more than its "
                                           f"header declares and past the size limit; {fix}.") from None
        except _UNREADABLE as error:
            raise Rejected(f"{label} is damaged or could not be extracted ({_detail(error)}); {fix}.") from None
        for here, _dirs, _files in os.walk(dest):
            os.chmod(here, 0o755)
        if kinds := [kind for kind in _CLUTTER if kind in ignored]:
            self.intake.notes.append(f"ignored {_listing(kinds)}")

    def count(self, count: int | None, label: str) -> None:
        if count is not None and self.entries + count > self.limits.max_entries:
            advice = self.fix or (f"zip only your assignment08 folder (no data, virtual environments or caches) "
                                  f"with {self.command}")
            raise Rejected(f"{label} holds {self.entries + count} entries, more than the limit of "
                           f"{self.limits.max_entries}; {advice}.")

    def plan(self, zf: zipfile.ZipFile, label: str, fix: str) -> tuple[list, set[str]]:
        """Check every entry and the declared sizes: (entry, name, parts) to extract, and the clutter ignored."""
        plan, ignored, declared, limits = [], set(), self.written, self.limits
        for info in zf.infolist():
            name = _name(info)
            parts = self.check(info, name, f"{label} holds an entry {_show(name)}", fix)
            if kind := _ignored(parts):
                ignored.add(kind)
            elif parts:
                if info.file_size > limits.max_entry_bytes:
                    raise Rejected(f"{label} holds an entry {_show(name)} of {_size(info.file_size)} uncompressed, "
                                   f"more than the limit of {_size(limits.max_entry_bytes)} per file; "
                                   f"leave large data files out and {fix}.")
                declared += info.file_size
                plan.append((info, name, parts))
        if declared > limits.max_total_bytes:
            raise Rejected(f"{label} expands to {_size(declared)}, more than the limit of "
                           f"{_size(limits.max_total_bytes)} in total; leave data files out and {fix}.")
        return plan, ignored

    @staticmethod
    def check(info: zipfile.ZipInfo, name: str, entry: str, fix: str) -> list[str]:
        """Refuse an entry that could escape, link, hide behind a password or bomb the decompressor."""
        if name.startswith("/") or re.match(r"[A-Za-z]:", name):
            raise Rejected(f"{entry} with an absolute path; {fix}.")
        if ".." in (parts := name.split("/")):
            raise Rejected(f"{entry} that points outside the archive; {fix}.")
        mode = info.external_attr >> 16
        if stat.S_ISLNK(mode):
            raise Rejected(f"{entry} that is a symbolic link, which is not allowed; put the real file there and {fix}.")
        if stat.S_IFMT(mode) not in (0, stat.S_IFREG, stat.S_IFDIR):
            raise Rejected(f"{entry} that is a device, pipe or socket, not a file; {fix}.")
        if info.flag_bits & 0x1:
            raise Rejected(f"{entry} that is encrypted (password-protected); {fix}, without a password.")
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            # bzip2 and lzma inflate a whole chunk at once, unbounded: a memory bomb before any counter sees it
            method = _METHODS.get(info.compress_type, f"method {info.compress_type}")
            raise Rejected(f"{entry} compressed with {method}, but only stored and deflate are accepted; {fix}.")
        return [p for p in parts if p not in ("", ".")]

    def place(self, root: Path, kind: str) -> bool:
        """Choose the folder to grade under root and note anything surprising about it."""
        if not (found := _candidates(root)):
            return False
        (folder, present), notes = found[0], self.intake.notes
        rel = folder.relative_to(root)
        if len(found) > 1:
            places = _listing([_where(f.relative_to(root)) for f, _ in found])
            notes.append(f"found the contract files in {len(found)} places ({places}); graded {_where(rel)}")
        if len(rel.parts) > 1:
            notes.append(f"found {folder.name}/ under {rel.parent.as_posix()}/")
        elif rel.parts and not _NAMED.fullmatch(folder.name):
            notes.append(f"found the contract files in {folder.name}/, not in assignment08/")
        elif not rel.parts and kind == "zip":
            notes.append("found the contract files at the top level of the zip, not in an assignment08/ folder")
        if missing := [n for n in CONTRACT_FILES if n not in present]:
            notes.append(f"{_listing(missing)} is missing; only {_listing(present)} is graded")
        self.intake.folder = folder
        return True


def _zips(root: Path) -> list[Path]:
    """Zip files under root, clutter folders left out: what could be unwrapped."""
    zips = []
    for here, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in _PRUNE)
        zips += sorted(Path(here) / f for f in files if f.lower().endswith(".zip"))
    return zips


def _declared_count(archive: Path) -> int | None:
    """The entry count in the end record; None when absent or kept in the zip64 record."""
    with archive.open("rb") as file:
        file.seek(max(0, file.seek(0, os.SEEK_END) - 22 - 0xFFFF))
        tail = file.read()
    at = tail.rfind(b"PK\x05\x06")
    count = int.from_bytes(tail[at + 10 : at + 12], "little") if 0 <= at <= len(tail) - 12 else 0xFFFF
    return None if count == 0xFFFF else count


def _name(info: zipfile.ZipInfo) -> str:
    """The entry's name, readable: unflagged names are often UTF-8 anyway (macOS), else cp437; '\\' is '/'."""
    name = info.filename
    if not info.flag_bits & 0x800:
        try:
            name = name.encode("cp437").decode("utf-8")
        except UnicodeError:
            pass
    return name.replace("\\", "/")


def _ignored(parts: list[str]) -> str | None:
    """Which kind of operating-system or cache clutter the entry is, if any."""
    for folder in ("__MACOSX", "__pycache__"):
        if folder in parts:
            return f"{folder}/"
    if parts and parts[-1] == ".DS_Store":
        return ".DS_Store"
    if parts and parts[-1].startswith("._"):
        return "._* (macOS resource forks)"
    return "*.pyc" if parts and parts[-1].lower().endswith(".pyc") else None


def _create(target: Path) -> BinaryIO:
    """A new regular file, 0644 whatever the umask or the zip says, never written through a symlink."""
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o644)
    os.fchmod(fd, 0o644)
    return os.fdopen(fd, "wb")


def _copy_capped(src: BinaryIO, dst: BinaryIO, cap: int) -> int:
    """Copy src to dst and return the byte count; raise TooLarge past cap, since declared sizes can lie."""
    total = 0
    while chunk := src.read(CHUNK):
        total += len(chunk)
        if total > cap:
            raise TooLarge(total)
        dst.write(chunk)
    return total


def _show(name: str) -> str:
    """A name quoted for a message: non-printable characters escaped, long names cut."""
    text = "".join(c if c.isprintable() else f"\\x{ord(c):02x}" for c in name)
    return f"'{text[:100]}…'" if len(text) > 100 else f"'{text}'"


def _where(rel: Path) -> str:
    return f"{rel.as_posix()}/" if rel.parts else "the top level"


def _listing(items: list[str]) -> str:
    return ", ".join(items[:-1]) + f" and {items[-1]}" if len(items) > 1 else "".join(items)


def _size(count: int) -> str:
    if count < 2**10:
        return f"{count} bytes"
    return f"{count / 2**10:.1f} KiB" if count < 2**20 else f"{count / 2**20:.1f} MiB"


def _detail(error: BaseException) -> str:
    text = error.strerror if isinstance(error, OSError) and error.strerror else str(error)
    return (text or type(error).__name__)[:200]
