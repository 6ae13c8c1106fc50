"""Write docs/guide/config.md, every config key with its type, default, allowed
values and description, from config.schema.yaml (the one place a key is
described) and config.yaml (the defaults):

    python docs/config_page.py

tests/test_docs.py fails when the page differs from what this script writes,
and when a key of the schema has no description.
"""

import json
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
PAGE = REPO / "docs" / "guide" / "config.md"
COMMAND = "python docs/config_page.py"


def merged(base, extra):
    """``extra`` merged over ``base``, nested dicts key by key."""
    out = dict(base)
    for key, value in extra.items():
        out[key] = (
            merged(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
        )
    return out


def resolve(node, schema):
    """``node`` with its ``$ref`` (``#/$defs/NAME``) merged under its own keys."""
    while "$ref" in node:
        target = schema
        for part in node["$ref"].lstrip("#/").split("/"):
            target = target[part]
        node = merged(target, {k: v for k, v in node.items() if k != "$ref"})
    return node


def value(v):
    """A config value as YAML writes it, in one line."""
    if isinstance(v, bool):
        return "`true`" if v else "`false`"
    if isinstance(v, str):
        return '`""`' if v == "" else f"`{v}`"
    if isinstance(v, (list, dict)):
        text = json.dumps(v, separators=(", ", ": ")).replace('"', "")
        return f"`{text}`" if len(text) <= 48 else "see `config.yaml`"
    return f"`{v}`"


def cell(text):
    """Text safe inside a Markdown table cell: no column breaks, no HTML tags."""
    return " ".join(text.split()).replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")


def kind(node):
    if "enum" in node:
        return "choice"
    if "oneOf" in node:
        return " or ".join(kind(option) for option in node["oneOf"])
    if node.get("type") == "array":
        items = node.get("items", {})
        inner = (
            "object" if items.get("type") == "object" else items.get("type", kind(items) if items else "any")
        )
        return f"list of {inner}"
    return node.get("type", "any")


def allowed(node):
    """The values the schema allows, in words: choices, bounds, pattern, list limits."""
    if "enum" in node:
        return ", ".join(f"`{json.dumps(c).strip(chr(34))}`" for c in node["enum"])
    if "oneOf" in node:
        options = [{"enum": [True, False]} if o.get("type") == "boolean" else o for o in node["oneOf"]]
        return ", ".join(filter(None, (allowed(option) for option in options)))
    parts = []
    low = ("≥", node["minimum"]) if "minimum" in node else (">", node.get("exclusiveMinimum"))
    high = ("≤", node["maximum"]) if "maximum" in node else ("<", node.get("exclusiveMaximum"))
    if low[1] is not None:
        parts.append(f"{low[0]} {low[1]}")
    if high[1] is not None:
        parts.append(f"{high[0]} {high[1]}")
    if "pattern" in node:
        parts.append(f"matches `{node['pattern']}`")
    if "minLength" in node:
        parts.append(f"at least {node['minLength']} characters")
    if node.get("type") == "array":
        if "minItems" in node:
            parts.append(f"at least {node['minItems']} item(s)")
        if "maxItems" in node:
            parts.append(f"at most {node['maxItems']} items")
        if node.get("uniqueItems"):
            parts.append("no repeats")
        item = allowed(node.get("items", {}))
        if item and node.get("items", {}).get("type") != "object":
            parts.append(f"each {item}")
    return ", ".join(parts)


def default_at(config, path):
    node = config
    for part in path:
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def rows(node, path, schema, config, out, missing):
    """One row per key under ``node`` (its dotted ``path``), depth first."""
    node = resolve(node, schema)
    if "items" in node:
        node = {**node, "items": resolve(node["items"], schema)}
    name = ".".join(path)
    if path and not node.get("description"):
        missing.append(name)
    if path:
        default = default_at(config, path) if "[]" not in name else None
        if default is None and "default" in node:
            default = node["default"]
        is_group = node.get("type") == "object" and "properties" in node
        shown = "" if default is None or (is_group and default) else value(default)
        out.append(
            (name, kind(node), shown, allowed(node).replace("|", "\\|"), cell(node.get("description", "")))
        )
    if path[:1] == ["train_overrides"] and len(path) == 2:
        return  # any `train` keys: described under train
    for key, child in node.get("properties", {}).items():
        rows(child, [*path, key], schema, config, out, missing)
    items = resolve(node.get("items", {}), schema)
    if node.get("type") == "array" and items.get("type") == "object":
        for key, child in items.get("properties", {}).items():
            rows(child, [*path[:-1], f"{path[-1]}[]", key], schema, config, out, missing)
    extra = node.get("additionalProperties")
    if isinstance(extra, dict):
        rows(extra, [*path, "<name>"], schema, config, out, missing)


def page():
    """The page's text, and the keys that have no description."""
    schema = yaml.safe_load((REPO / "config.schema.yaml").read_text())
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    lines = [
        "# Every config key",
        "",
        f"Generated from `config.schema.yaml` (each key's description) and `config.yaml` (its default) by "
        f"`{COMMAND}`; do not edit by hand. Set a key in `config.yaml`, in an overlay given with "
        "`--configfile`, or with `--config` (see [Rerunning one figure](rerun.md)); a value the schema "
        "refuses stops the workflow at start-up, naming the key ([Error messages](data.md#error-messages)).",
        "",
    ]
    groups = {"": []}
    missing = []
    for key, child in schema["properties"].items():
        out = []
        rows(child, [key], schema, config, out, missing)
        if resolve(child, schema).get("type") == "object":
            groups[key] = out
        else:
            groups[""] += out
    lines += [", ".join(f"[{key or 'top level'}](#{key or 'top-level'})" for key in groups), ""]
    head = ["| key | type | default | allowed | description |", "|---|---|---|---|---|"]
    for key, out in groups.items():
        lines += [f"## {key or 'Top level'}", ""]
        if key:
            lines += [cell(resolve(schema["properties"][key], schema)["description"]), ""]
            out = out[1:]
        lines += head
        lines += [f"| `{n}` | {t} | {d} | {a} | {x} |" for n, t, d, a, x in out]
        lines.append("")
    return "\n".join(lines), missing


if __name__ == "__main__":
    text, missing = page()
    if missing:
        raise SystemExit(f"config.schema.yaml: no description for {', '.join(missing)}")
    PAGE.write_text(text)
