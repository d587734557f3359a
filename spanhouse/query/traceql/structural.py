"""TraceQL's structural operators over one trace's spans, as Tempo evaluates them
(``pkg/traceql/ast_execute.go`` ``SpansetOperation.evaluate``, and the vParquet span's
``ChildOf``/``DescendantOf``/``SiblingOf``):

- ``A > B`` B spans whose parent is an A span; ``A < B`` B spans that are the parent of an A
  span; ``A >> B`` B spans with an A ancestor; ``A << B`` B spans that are an ancestor of an A
  span; ``A ~ B`` B spans with an A sibling (same parent, not the span itself).
- ``!``-forms: the B spans for which the relation does not hold.
- ``&``-forms (union): the spans of both sides that take part in the relation.

The tree is the parent ids of every span of the trace that was read (``Tree``); a span whose
parent was never stored is the top of its own subtree. These run on the bounded rows of the
candidate traces only.
"""

from __future__ import annotations

from spanhouse.errors import InvalidInput


class Tree:
    """Parent links of one trace: span key -> parent key (span ids, or the span graph's
    hashes; '' or 0 for none)."""

    def __init__(self, parents: dict):
        self.parents = parents

    def parent(self, key):
        """The parent's key when the parent is stored, else None."""
        parent = self.parents.get(key)
        return parent if parent in self.parents else None

    def ancestors(self, key) -> list:
        out, seen = [], {key}
        cur = self.parent(key)
        while cur is not None and cur not in seen:    # a cycle of bad parent ids ends here
            out.append(cur)
            seen.add(cur)
            cur = self.parent(cur)
        return out


def relate(op: str, lhs: list, rhs: list, tree: Tree) -> list:
    """The spans (objects with ``key``) ``lhs op rhs`` keeps, for a structural ``op``."""
    negate, union = op.startswith("!"), op.startswith("&")
    base = op.lstrip("!&")
    left_ids = {s.key for s in lhs}
    if base == ">":          # B's parent in A
        def takes_part(r):
            return tree.parent(r.key) in left_ids

        def partners(r):
            return [tree.parent(r.key)]
    elif base == ">>":       # an ancestor of B in A
        def takes_part(r):
            return any(a in left_ids for a in tree.ancestors(r.key))

        def partners(r):
            return tree.ancestors(r.key)
    elif base == "<":        # B is the parent of an A span
        children: dict[str, list[str]] = {}
        for s in lhs:
            children.setdefault(tree.parent(s.key), []).append(s.key)

        def takes_part(r):
            return r.key in children

        def partners(r):
            return children.get(r.key, [])
    elif base == "<<":       # B is an ancestor of an A span
        below: dict[str, list[str]] = {}
        for s in lhs:
            for a in tree.ancestors(s.key):
                below.setdefault(a, []).append(s.key)

        def takes_part(r):
            return r.key in below

        def partners(r):
            return below.get(r.key, [])
    elif base == "~":        # B has a sibling in A (same parent id, stored or not)
        by_parent: dict[str, list[str]] = {}
        for s in lhs:
            by_parent.setdefault(tree.parents.get(s.key, ""), []).append(s.key)

        def partners(r):
            parent = tree.parents.get(r.key, "")
            return [i for i in by_parent.get(parent, ()) if i != r.key] if parent else []

        def takes_part(r):
            return bool(partners(r))
    else:
        raise InvalidInput(f"structural operator {op} is not supported")
    if negate:
        return [r for r in rhs if not takes_part(r)]
    kept = [r for r in rhs if takes_part(r)]
    if not union:
        return kept
    wanted = {pid for r in kept for pid in partners(r)} & left_ids
    out, seen = [], set()
    for s in [l for l in lhs if l.key in wanted] + kept:
        if s.key not in seen:
            seen.add(s.key)
            out.append(s)
    return out
