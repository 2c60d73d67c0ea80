"""PyYAML's node trees for the source loader: the safe loader class (timestamps stay strings), the
hostile-input checks that need the nodes (alias expansion, duplicate keys), and the positions of
fields (`FilePositions`: a file's tree composed again only when a finding asks where a field is)."""

from __future__ import annotations

from reconciler.findings import Finding


def pyyaml():
    import yaml

    return yaml


_loader_cls = None
_PLAIN_TAG_CACHE = 50_000  # distinct plain scalars remembered (bounded: the input is untrusted)


def loader_class():
    """A safe loader (C when available) whose timestamps stay strings."""
    global _loader_cls
    if _loader_cls is None:
        yaml = pyyaml()
        base = getattr(yaml, "CSafeLoader", None) or yaml.SafeLoader
        scalar_node = yaml.ScalarNode
        plain_tags: dict[str, str] = {}

        class ManifestLoader(base):  # type: ignore[misc, valid-type]
            def resolve(self, kind, value, implicit):
                # A plain scalar's tag depends on its text alone (there are no path resolvers), and
                # manifests repeat the same texts (keys, `true`, ports), so remember the answer.
                if kind is scalar_node and implicit[0]:
                    tag = plain_tags.get(value)
                    if tag is None:
                        tag = base.resolve(self, kind, value, implicit)
                        if len(plain_tags) < _PLAIN_TAG_CACHE:
                            plain_tags[value] = tag
                    return tag
                return base.resolve(self, kind, value, implicit)

            # Called for every node; with no path resolvers (asserted below) they do nothing.
            def descend_resolver(self, current_node, current_index):
                pass

            def ascend_resolver(self):
                pass

        ManifestLoader.yaml_implicit_resolvers = {
            first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
            for first, resolvers in base.yaml_implicit_resolvers.items()
        }
        assert not ManifestLoader.yaml_path_resolvers
        _loader_cls = ManifestLoader
    return _loader_cls


# --------------------------------------------------------------------------------------------
# Locating fields in a composed node tree


def node_locator(root_node):
    """locate(path) -> (line, col), 1-based, of the deepest key/item of `path` that exists."""

    def locate(path):
        node = root_node
        best = (node.start_mark.line + 1, node.start_mark.column + 1)
        for part in path:
            node = _child(node, part)
            if node is None:
                break
            key_node, value_node = node
            best = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            node = value_node
        return best

    return locate


def _child(node, part):
    """(node that names `part`, its value node): the key node for a mapping, the item for a sequence."""
    yaml = pyyaml()
    if isinstance(node, yaml.MappingNode) and not isinstance(part, int):
        found = None
        for key_node, value_node in node.value:
            if isinstance(key_node, yaml.ScalarNode) and key_node.value == str(part):
                found = (key_node, value_node)  # last one wins, as in the loaded object
        return found
    if isinstance(node, yaml.SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
        item = node.value[part]
        return item, item
    return None


# --------------------------------------------------------------------------------------------
# Hostile-input checks on the node tree


def expanded_size(node, memo: dict, budget: int) -> int:
    """How many nodes `node` becomes once aliases are expanded (stops counting past `budget`)."""
    known = memo.get(id(node))
    if known is not None:
        return known
    yaml = pyyaml()
    size = 1
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            size += expanded_size(key_node, memo, budget) + expanded_size(value_node, memo, budget)
            if size > budget:
                break
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            size += expanded_size(item, memo, budget)
            if size > budget:
                break
    memo[id(node)] = size
    return size


def duplicate_keys(node, rel: str, out: list[Finding], path=()) -> None:
    yaml = pyyaml()
    if isinstance(node, yaml.MappingNode):
        first_seen: dict = {}
        for key_node, value_node in node.value:
            if isinstance(key_node, yaml.ScalarNode):
                key = key_node.value
                if key in first_seen and key != "<<":
                    prev = first_seen[key]
                    from reconciler.manifests.model import format_path

                    out.append(
                        Finding(
                            file=rel,
                            line=key_node.start_mark.line + 1,
                            col=key_node.start_mark.column + 1,
                            path=format_path((*path, key)),
                            message=f"duplicate key {key!r}: first at line {prev.start_mark.line + 1}, again at line "
                            f"{key_node.start_mark.line + 1}; YAML keeps only the last value",
                            hint="remove one of the two; Kubernetes would silently use the second",
                            rule="duplicate-key",
                        )
                    )
                else:
                    first_seen[key] = key_node
                duplicate_keys(value_node, rel, out, (*path, key))
            else:
                duplicate_keys(value_node, rel, out, path)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            duplicate_keys(item, rel, out, (*path, index))



def path_to(root, target, path=()):
    """The field path of node `target` inside the node tree `root`, or None."""
    if root is target:
        return path
    if isinstance(root, pyyaml().MappingNode):
        for key_node, value_node in root.value:
            key = key_node.value if isinstance(key_node, pyyaml().ScalarNode) else "?"
            found = path_to(key_node, target, (*path, key)) if key_node is target else path_to(value_node, target, (*path, key))
            if found is not None:
                return found
    elif isinstance(root, pyyaml().SequenceNode):
        for index, item in enumerate(root.value):
            found = path_to(item, target, (*path, index))
            if found is not None:
                return found
    return None



class FilePositions:
    """The composed node tree of one file's text, built when a position is first asked for.

    Only the last few files' trees are kept (`_COMPOSED_KEPT`): findings come object by object, and
    keeping every tree alive would make the garbage collector walk them all again and again (the
    reason the loader no longer keeps them). A file asked about again later is composed again.
    """

    def __init__(self, text: str | bytes):
        self.text = text  # bytes for a file the source cache had: decoded when first asked about
        self.nodes: list | None = None

    def document(self, index: int):
        key = id(self)
        if self.nodes is None:
            self.nodes = []
            if isinstance(self.text, bytes):
                text = self.text.decode("utf-8", errors="replace")
                self.text = text[1:] if text.startswith("\ufeff") else text
            loader = loader_class()(self.text)
            try:
                while loader.check_node():
                    self.nodes.append(loader.get_node())
            except (pyyaml().YAMLError, RecursionError):
                pass  # the documents before the error were loaded, and are the only ones asked about
            finally:
                loader.dispose()
            if len(_composed) >= _COMPOSED_KEPT:
                _composed.pop(next(iter(_composed))).nodes = None
        _composed.pop(key, None)
        _composed[key] = self  # most recently used last
        return self.nodes[index] if index < len(self.nodes) else None

    def locator(self, index: int):
        def locate(path):
            node = self.document(index)
            return node_locator(node)(path) if node is not None else (1, 1)

        return locate


_COMPOSED_KEPT = 8
_composed: dict[int, FilePositions] = {}  # id -> files whose node trees are kept, oldest first

