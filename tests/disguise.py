"""A copy as a student would disguise one: every local variable renamed, the functions reordered.
Used by the similarity and class-report tests; the copy still runs as the original does."""

from __future__ import annotations

import ast
import io
import shutil
import tokenize
from pathlib import Path


def _locals(tree: ast.Module) -> set[str]:
    """Names assigned inside functions (not arguments, not module names): safe to rename."""
    names, arguments = set(), set()
    for function in (n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.Lambda)):
        arguments |= {a.arg for a in ast.walk(function.args) if isinstance(a, ast.arg)}
        for node in ast.walk(function):
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                names.add(node.id)
    in_fstrings = {n.id for s in ast.walk(tree) if isinstance(s, ast.JoinedStr) for n in ast.walk(s) if isinstance(n, ast.Name)}
    names -= arguments | in_fstrings  # tokenize (3.11) does not look inside f-strings: renaming there would break the code
    module_level = {t.id for n in tree.body if isinstance(n, ast.Assign) for t in n.targets if isinstance(t, ast.Name)}
    return names - module_level


def _rename(source: str, names: dict[str, str]) -> str:
    lines = source.splitlines(keepends=True)
    every = [t for t in tokenize.generate_tokens(io.StringIO(source).readline)
             if t.type not in (tokenize.NL, tokenize.NEWLINE, tokenize.COMMENT, tokenize.INDENT, tokenize.DEDENT)]
    tokens = []
    for before, token, after in zip([None, *every], every, [*every[1:], None]):
        attribute = before is not None and before.string == "."
        keyword = after is not None and after.string == "=" and before is not None and before.string in "(,"
        if token.type == tokenize.NAME and token.string in names and not attribute and not keyword:
            tokens.append(token)
    for token in sorted(tokens, key=lambda t: t.start, reverse=True):
        row, col = token.start
        line = lines[row - 1]
        lines[row - 1] = line[:col] + names[token.string] + line[col + len(token.string):]
    return "".join(lines)


def _reorder(source: str) -> str:
    """The top-level functions in reverse order, every other statement where it was."""
    tree = ast.parse(source)
    lines = source.splitlines(keepends=True)
    chunks, functions = [], []
    for node in tree.body:
        start = (node.decorator_list[0].lineno if getattr(node, "decorator_list", None) else node.lineno) - 1
        chunks.append((start, node.end_lineno, isinstance(node, ast.FunctionDef)))
    bodies = ["".join(lines[s:e]) for s, e, f in chunks if f]
    functions = iter(reversed(bodies))
    out, at = [], 0
    for start, end, is_function in chunks:
        out.append("".join(lines[at:start]))
        out.append(next(functions) if is_function else "".join(lines[start:end]))
        at = end
    out.append("".join(lines[at:]))
    return "".join(out)


def disguise(source_folder: Path, target: Path) -> Path:
    """``source_folder``'s .py files with locals renamed (``x`` -> ``my_x_2``) and functions reversed."""
    shutil.copytree(source_folder, target, ignore=shutil.ignore_patterns("__pycache__", "__init__.py"))
    for path in sorted(target.glob("*.py")):
        source = path.read_text(encoding="utf-8")
        names = {name: f"my_{name.strip('_')}_2" for name in _locals(ast.parse(source))}
        path.write_text(_reorder(_rename(source, names)), encoding="utf-8")
    return target
