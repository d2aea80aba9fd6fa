"""Every string in templates/i18n.yaml is used: a dead key is wording nobody reads but everyone
must keep true and translated. A key counts as used when code or a template names it in quotes,
or builds it from a quoted head (f"cmd.{c}", "count." ~ unit); `<key>.no_agents` goes with <key>."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from helpcenter.answers.render import NO_AGENTS

ROOT = Path(__file__).resolve().parent.parent
SOURCES = [*ROOT.glob("bot.py"), *ROOT.glob("handlers/**/*.py"), *ROOT.glob("helpcenter/**/*.py"),
           *ROOT.glob("templates/*.j2"), *ROOT.glob("web/*.py"), *ROOT.glob("templates/web/*.j2")]


def test_every_i18n_key_is_used_by_code_or_a_template() -> None:
    keys = yaml.safe_load((ROOT / "templates" / "i18n.yaml").read_text(encoding="utf-8"))
    code = "\n".join(p.read_text(encoding="utf-8") for p in SOURCES)
    heads = set(re.findall(r"""f["']([\w.]*\.[\w.]*)\{""", code))  # f"cmd.{c}", f"ret.bad_{x}"
    heads |= set(re.findall(r"""["']([\w.]*\.)["']\s*[~+]""", code))  # "count." ~ unit, "x." + y
    unused = []
    for key in keys:
        base = key.removesuffix(NO_AGENTS)
        named = f'"{base}"' in code or f"'{base}'" in code
        if not named and not base.startswith(tuple(heads)):
            unused.append(key)
    assert unused == []
