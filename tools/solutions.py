"""Solution regions in the chapter's code cells, as nbgrader and otter-grader mark them:

    def my_skip_gram(centers, contexts_negatives, embed_center, embed_context):
        # BEGIN SOLUTION
        v = embed_center(centers)  # (B, 1, E)
        ...
        # END SOLUTION

A teacher notebook keeps the code and loses the two marker lines (:func:`solved`); a student notebook gets an
outline in the region's place (:func:`blanked`): every simple statement keeps its target and its comment, with
``...`` for its value (``v = ...  # (B, 1, E)``, ``return ...``, a bare ``...`` for a call such as
``loss.backward()``), a ``with``, ``def`` or ``for`` line stays as it is, and comment lines stay. A student cell
run unchanged raises nothing, and ``tryit.check`` recognises the blanks (``...`` as a statement's whole value) as
not attempted. The source keeps the markers, so it can also go through nbgrader or otter-grader.
"""

from __future__ import annotations

import ast
import io
import re
import tokenize

BEGIN, END = "# BEGIN SOLUTION", "# END SOLUTION"
MARKER = re.compile(rf"^\s*({re.escape(BEGIN)}|{re.escape(END)})\s*$")
SIMPLE = (ast.Assign, ast.AnnAssign, ast.AugAssign, ast.Return, ast.Expr)


def regions(source: str) -> list[tuple[int, int]]:
    """The (begin, end) line indices (from 0) of each region's markers; a marker out of order is an error."""
    found, begin = [], None
    for index, line in enumerate(source.splitlines()):
        marker = MARKER.match(line)
        if marker is None:
            continue
        if (marker.group(1) == BEGIN) != (begin is None):
            raise ValueError(f"line {index + 1}: {marker.group(1)} out of order (regions pair up and do not nest)")
        if begin is None:
            begin = index
        else:
            found.append((begin, index))
            begin = None
    if begin is not None:
        raise ValueError(f"line {begin + 1}: {BEGIN} with no {END} after it")
    return found


def solved(source: str) -> str:
    """The source with its marker lines left out: the teacher notebook's code."""
    regions(source)  # the markers must pair up in either notebook
    return "\n".join(line for line in source.splitlines() if not MARKER.match(line))


def _comments(source: str) -> dict[int, str]:
    """Each line's comment (by line number from 1), as tokenize finds it (not a # inside a string)."""
    tokens = tokenize.generate_tokens(io.StringIO(source).readline)
    return {token.start[0]: token.string for token in tokens if token.type == tokenize.COMMENT}


def _outline(node: ast.stmt, source: str) -> str:
    """A simple statement with ``...`` for its value: the part a student writes."""
    segment = ast.get_source_segment
    if isinstance(node, ast.Assign):
        return " = ".join(segment(source, target) for target in node.targets) + " = ..."
    if isinstance(node, ast.AnnAssign):
        return f"{segment(source, node.target)}: {segment(source, node.annotation)} = ..."
    if isinstance(node, ast.AugAssign):
        return f"{segment(source, node.target)} {segment(source, node).split('=', 1)[0].split()[-1]}= ..."
    return "return ..." if isinstance(node, ast.Return) else "..."


def blanked(source: str) -> str:
    """The source with each region replaced by its outline: the student notebook's code."""
    spans = regions(source)
    if not spans:
        return source
    tree, comments = ast.parse(source), _comments(source)
    starts = {node.lineno: node for node in ast.walk(tree) if isinstance(node, ast.stmt)}
    lines, out, skip_to = source.splitlines(), [], 0
    inside = {index for begin, end in spans for index in range(begin, end + 1)}
    for index, line in enumerate(lines):
        number = index + 1
        if index not in inside:
            out.append(line)
        elif MARKER.match(line) or number <= skip_to:
            continue
        elif number in starts and isinstance(starts[number], SIMPLE):
            node = starts[number]
            comment = f"  {comments[number]}" if number in comments else ""
            out.append(line[: len(line) - len(line.lstrip())] + _outline(node, source) + comment)
            skip_to = node.end_lineno
        else:  # a comment, a blank line, or the header of a with, def, for or if: the outline's structure
            out.append(line)
    return "\n".join(out)
