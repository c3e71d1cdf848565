"""No credentials in anything we ship: code, template, compose file, Dockerfile, docs. The only
keys that may appear are moto's dummy `testing` pair, used for emulators alone."""

from __future__ import annotations

import re
import subprocess

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.unit

PATTERNS = {
    "an AWS access key id": re.compile(r"\b(?:AKIA|ASIA|AIDA|AROA)[0-9A-Z]{16}\b"),
    "a private key": re.compile(r"-----BEGIN (?:RSA |EC |DSA |OPENSSH )?PRIVATE KEY-----"),
    "a secret assigned a value": re.compile(
        r"(?i)(?:secret|password|passwd|token|api_key)[\w-]*['\"]?\s*[:=]\s*['\"]?(?!testing\b)[A-Za-z0-9/+=_-]{16,}"
    ),
    "a 40-character secret access key": re.compile(r"(?i)secret_access_key\W{1,4}(?!testing\b)[A-Za-z0-9/+=]{40}\b"),
}


def _shipped_files() -> list[str]:
    listed = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=False)
    if listed.returncode != 0:
        pytest.skip("not a git checkout")
    return [f for f in listed.stdout.splitlines() if not f.endswith((".parquet", ".png"))]


def test_nothing_shipped_holds_a_credential() -> None:
    files = _shipped_files()
    assert {"infra/template.yaml", "docker-compose.yml", "containers/Dockerfile", "ecompipe/aws/clients.py"} <= set(
        files
    )
    found = []
    for name in files:
        path = ROOT / name
        if not path.is_file():
            continue
        text = path.read_text(errors="replace")
        for what, pattern in PATTERNS.items():
            found += [f"{name}: {what}: {m.group(0)[:40]}" for m in pattern.finditer(text)]
    assert found == []


# AWS's documented example credentials, assembled here so this file does not hold them whole
@pytest.mark.parametrize(
    "text",
    [
        "aws_access_key_id = " + "AKIA" + "IOSFODNN7EXAMPLE",
        "API_TOKEN" + ': "ghp_0123456789abcdefABCDEF"',
        "aws_secret_access_key" + "=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        "-----BEGIN RSA " + "PRIVATE KEY-----",
    ],
)
def test_the_patterns_catch_real_looking_credentials(text: str) -> None:
    assert any(p.search(text) for p in PATTERNS.values())
