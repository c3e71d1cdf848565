"""The lock (.ci/lock): every install takes exactly the tested versions, hash-checked.

pyproject.toml and requirements/*.in keep the ranges; the locks pin one version of everything they
need. A range edited without renewing the lock, a lock that drifts from the tested one, an
install that resolves on its own instead of reading a lock, or an environment that is not what the
lock says, each fails here."""

from __future__ import annotations

import re
import tomllib
from importlib import metadata
from pathlib import Path

import pytest
from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.conftest import ROOT

pytestmark = pytest.mark.unit
REQ = ROOT / "requirements"
TESTED = REQ / "test.txt"
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def _pins(lock: Path) -> dict[str, str]:
    """The versions a lock installs on this interpreter and platform (markers evaluated)."""
    pins: dict[str, str] = {}
    for line in lock.read_text().splitlines():
        if line.startswith((" ", "#", "-")) or "==" not in line:
            continue
        spec, _, marker = line.rstrip(" \\").partition(";")
        if marker.strip() and not Marker(marker).evaluate():
            continue
        name, _, version = spec.strip().partition("==")
        assert re.search(rf"^{re.escape(spec.strip())}\b.*\\\n\s+--hash=sha256:", lock.read_text(), re.M), spec
        pins[canonicalize_name(name.split("[")[0])] = version
    return pins


def _declared(requirements: list[str], extras: set[str]) -> list[Requirement]:
    """Requirements as declared, the project's own extras followed (ecompipe[local] in test)."""
    out: list[Requirement] = []
    for text in requirements:
        req = Requirement(text)
        if req.marker and not any(req.marker.evaluate({"extra": e}) for e in extras or {""}):
            continue
        if canonicalize_name(req.name) == "ecompipe":
            out += _extras(req.extras)
        else:
            out.append(req)
    return out


def _extras(extras: set[str]) -> list[Requirement]:
    optional = PYPROJECT["project"]["optional-dependencies"]
    return [r for e in extras for r in _declared(optional[e], {e})]


def _lines(path: Path) -> list[str]:
    return [line for line in path.read_text().splitlines() if line.strip() and not line.startswith("#")]


LOCKS = {
    "test.txt": [*_declared(PYPROJECT["project"]["dependencies"], set()), *_extras({"test"})],
    "local.txt": [*_declared(PYPROJECT["project"]["dependencies"], set()), *_extras({"local"})],
    "task.txt": _declared(PYPROJECT["project"]["dependencies"], set()),
    "../requirements.txt": [Requirement(line) for line in _lines(REQ / "lambda.in")],
    "checkov.txt": [Requirement(line) for line in _lines(REQ / "checkov.in")],
}


@pytest.mark.parametrize("lock", LOCKS)
def test_each_lock_pins_every_declared_requirement_within_its_range(lock: str) -> None:
    pins = _pins(REQ / lock)
    for req in LOCKS[lock]:
        name = canonicalize_name(req.name)
        assert name in pins, f"{req} is declared but not in requirements/{lock}: run python3 .ci/lock"
        assert req.specifier.contains(pins[name], prereleases=True), f"{name}=={pins[name]} is outside {req}"


@pytest.mark.parametrize("lock", ["local.txt", "task.txt", "../requirements.txt"])
def test_every_lock_holds_the_tested_versions(lock: str) -> None:
    tested, pins = _pins(TESTED), _pins(REQ / lock)
    assert {n: v for n, v in pins.items() if tested.get(n) != v} == {}


def test_the_build_backend_is_in_the_locks_that_build_the_project() -> None:
    for lock in ("test.txt", "local.txt", "task.txt"):
        for text in PYPROJECT["build-system"]["requires"]:
            req = Requirement(text)
            assert req.specifier.contains(_pins(REQ / lock)[canonicalize_name(req.name)]), (lock, text)


def test_this_environment_is_the_tested_lock() -> None:
    """The suite runs on what the lock pins (.ci/run and README's test command install it)."""
    installed = {canonicalize_name(d.metadata["Name"]): d.version for d in metadata.distributions()}
    drift = {n: (v, installed.get(n)) for n, v in _pins(TESTED).items() if installed.get(n) != v}
    assert drift == {}, f"installed differs from requirements/test.txt (locked, installed): {drift}"


def _installs(text: str) -> list[str]:
    return re.findall(r"pip install ([^\n&]+?)(?=\s*(?:&&|\\\n|$))", text, re.M)


@pytest.mark.parametrize(
    ("path", "locks"),
    [
        ("README.md", ["requirements/local.txt", "requirements/test.txt"]),
        # (.ci/run: beside chromium's install where it is missing, then by the README's command)
        (".ci/run", ["requirements/test.txt", "requirements/test.txt"]),
        ("containers/Dockerfile", ["requirements/task.txt", "requirements/local.txt"]),
    ],
)
def test_every_install_reads_a_lock_with_hashes_and_resolves_nothing_else(path: str, locks: list[str]) -> None:
    installs = _installs((ROOT / path).read_text())
    from_locks = [i for i in installs if "--require-hashes -r " in i]
    assert [re.search(r"-r (\S+)", i).group(1) for i in from_locks] == locks
    for other in set(installs) - set(from_locks):
        assert "--no-deps" in other and "--no-build-isolation" in other, f"{path}: `pip install {other}` resolves"
