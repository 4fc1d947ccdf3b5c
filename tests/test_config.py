"""One source for the config: the schema holds defaults and descriptions; docs and config agree."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tcsummary.plan.config import check_config, load_schema, schema_table
from tcsummary.plan.selection import ConfigError

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = load_schema(ROOT / "workflow" / "schemas" / "config.schema.yaml")


def _keys(schema):
    for key, spec in schema["properties"].items():
        yield key, spec
        for name, inner in spec.get("properties", {}).items():
            yield f"{key}.{name}", inner
        for name, inner in spec.get("items", {}).get("properties", {}).items():
            if name not in ("name", "sources"):  # required: no default
                yield f"{key}[].{name}", inner


@pytest.mark.parametrize("key,spec", list(_keys(SCHEMA)), ids=[k for k, _ in _keys(SCHEMA)])
def test_every_key_has_a_description_and_a_default(key, spec):
    assert spec.get("description"), key
    assert "default" in spec, key


def test_config_readme_is_generated_from_the_schema():
    text = (ROOT / "config" / "README.md").read_text()
    begin = "<!-- generated from the schema: begin -->\n"
    end = "<!-- generated from the schema: end -->"
    table = text[text.index(begin) + len(begin): text.index(end)]
    assert table == schema_table(SCHEMA), "regenerate: python -m tcsummary.plan.config <schema>"


def test_config_yaml_only_repeats_the_schema_defaults():
    config = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    for key, value in config.items():
        assert value == SCHEMA["properties"][key]["default"], key


def test_the_test_config_is_valid():
    config = yaml.safe_load((ROOT / ".test" / "config.yaml").read_text())
    check_config(config, SCHEMA)


@pytest.mark.parametrize("config,message", [
    ({"repositories": ["x"], "metric": ["acc"]},
     "unknown config key 'metric'; did you mean 'metrics'?"),
    ({"repositories": ["x"], "groupyb": ["aug_name"]},
     "unknown config key 'groupyb'; did you mean 'groupby'?"),
    ({"repositories": ["x"], "zzz": 1}, "unknown config key 'zzz'; valid keys: campaigns,"),
    ({"repositories": ["x"], "example": {"pth": "e"}},
     "unknown config key example.'pth'; did you mean 'path'?"),
    ({"repositories": ["x"], "workers": "many"}, "config key workers: \"many\" is not valid"),
    ({"repositories": ["x"], "comparisons": [{"name": "c", "sources": [{"repository": "x"}],
                                              "factr": "aug_name"}]},
     "unknown config key comparisons[0].'factr'; did you mean 'factor'?"),
    ({"repositories": ["x"], "comparisons": [{"name": "c", "sources": [{"repo": "x"}]}]},
     "unknown config key comparisons[0].sources[0].'repo'; did you mean 'repository'?"),
    ({"repositories": [{"nme": "a", "path": "x"}]},
     "unknown config key repositories[0].'nme'; did you mean 'name'?"),
    ({"repositories": [{"name": "a"}]},
     "config key repositories.0: {\"name\": \"a\"} is not valid: expected a folder, "
     "`{name: <name>, path: <folder>}` or `{name: <name>, shards: [<folder>, ...]}`"),
])
def test_a_bad_key_or_value_is_one_line(config, message):
    with pytest.raises(ConfigError) as info:
        check_config(config, SCHEMA)
    assert message in str(info.value)
    assert "\n" not in str(info.value)
