"""JupyterHub and Binder readiness: repo2docker's postBuild and start do what `make` does, and the mock
server is reachable through JupyterLab's own URL (jupyter-server-proxy), token required."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urljoin

import pytest

from course.hub import NAME, mock_server_port
from jupyterlab_run import ROOT, Lab, jupyterlab
from mock_server import dashboard
from mock_server.contract import SERVICE, URL_VARIABLE
from mock_server.process import spawn


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory, base_url: str) -> Iterator[Lab]:
    with jupyterlab(tmp_path_factory.mktemp("hub"), base_url) as running:
        yield running


def proxied(lab: Lab, base_url: str) -> list[str]:
    return [f"/{NAME}", f"/proxy/{base_url.rsplit(':', 1)[1]}"]


@pytest.mark.parametrize("route", [0, 1], ids=["/mock-server/", "/proxy/<port>/"])
def test_docs_its_assets_and_openapi_through_jupyterlab(lab: Lab, base_url: str, route: int) -> None:
    prefix = proxied(lab, base_url)[route]
    page = lab.get(f"{prefix}/docs")
    assert page.status_code == 200 and "swagger-ui" in page.text
    urls = re.findall(r'(?:src=|href=|url: )"([^"]+)"', page.text)
    assert sorted(urls) == ["docs/static/swagger-ui-bundle.js", "docs/static/swagger-ui.css", "openapi.json"]
    for url in urls:  # relative to the page: under the proxy's prefix
        response = lab.get(f"{prefix}/{url}")
        assert response.status_code == 200 and len(response.content) > 1000, url
    assert lab.get(f"{prefix}/openapi.json").json()["openapi"].startswith("3.0")
    assert lab.get(f"{prefix}/__admin/health").json()["service"] == SERVICE


def test_the_proxy_needs_jupyterlabs_token(lab: Lab, base_url: str) -> None:
    import httpx

    for prefix in proxied(lab, base_url):
        response = httpx.get(f"{lab.url}{prefix}/docs", timeout=30)
        assert response.status_code in (302, 403), (prefix, response.status_code)
        assert "swagger-ui" not in response.text


@pytest.mark.parametrize(("environ", "port"), [
    ({}, 8765),
    ({"MOCK_SERVER_PORT": "8766"}, 8766),
    ({URL_VARIABLE: "http://127.0.0.1:40123", "MOCK_SERVER_PORT": "8766"}, 40123),
    ({URL_VARIABLE: "http://localhost:40124/"}, 40124),
    ({URL_VARIABLE: "http://classroom.example.org:8765", "MOCK_SERVER_PORT": "8767"}, 8767),  # not this machine
    ({"MOCK_SERVER_PORT": "not-a-port"}, 8765),
])
def test_the_proxy_points_at_the_kernels_server(environ: dict[str, str], port: int) -> None:
    assert mock_server_port(environ) == port


def test_post_build_installs_the_course_settings_into_the_images_python(tmp_path: Path) -> None:
    image = tmp_path / "image-python"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(image)], check=True, timeout=120)
    result = subprocess.run([str(ROOT / "postBuild")], capture_output=True, text=True, timeout=60,
                            env={**os.environ, "PATH": f"{image / 'bin'}:{os.environ['PATH']}"})
    assert result.returncode == 0, result.stderr
    for installed, source in [("etc/ipython/ipython_kernel_config.py", "course/jupyter/ipython_kernel_config.py"),
                              ("etc/jupyter/labconfig/default_setting_overrides.json",
                               "course/jupyter/labconfig/default_setting_overrides.json")]:
        assert (image / installed).read_bytes() == (ROOT / source).read_bytes()


def test_start_makes_the_work_copies_then_becomes_the_command(tmp_path: Path) -> None:
    work = tmp_path / "work"
    env = {**os.environ, "COURSE_WORK": str(work), "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    result = subprocess.run([str(ROOT / "start"), "sh", "-c", 'echo "ran $0 as $$"; exit 3', "jupyterhub-singleuser"],
                            capture_output=True, text=True, timeout=120, env=env)
    assert result.returncode == 3 and "ran jupyterhub-singleuser" in result.stdout, result.stderr
    assert (work / "notebooks" / "00_welcome.ipynb").is_file() and (work / "labs").is_dir()


INSTRUCTOR_TOKEN = "hub-test-instructor-token"


@pytest.fixture(scope="module")
def classroom_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    tmp = tmp_path_factory.mktemp("hub-classroom")
    server, url = spawn(["--classroom", "--instructor-token", INSTRUCTOR_TOKEN], log=tmp / "mock-server.log")
    try:
        with jupyterlab(tmp, url) as running:
            yield running
    finally:
        server.terminate()
        server.wait(10)


@pytest.mark.parametrize(("authorization", "status"), [(f"Bearer {INSTRUCTOR_TOKEN}", 200), (None, 401),
                                                       ("Bearer not-the-token", 401)])
def test_instructor_calls_reach_the_classroom_server_through_jupyterlab(
        classroom_lab: Lab, authorization: str | None, status: int) -> None:
    """JupyterLab's token goes in the query, the instructor's in Authorization: the proxy passes it on."""
    import httpx

    headers = {"Authorization": authorization} if authorization else {}
    response = httpx.get(f"{classroom_lab.url}/{NAME}/__admin/classroom/learners?token={classroom_lab.token}",
                         headers=headers, timeout=30)
    assert response.status_code == status, response.text
    assert (response.json().get("learners") == []) if status == 200 else response.json()["error"] == "instructor_only"


def test_the_dashboard_page_and_its_calls_work_through_jupyterlab(classroom_lab: Lab) -> None:
    """The page as a browser gets it under the proxy's prefix, and each call its script makes, resolved
    against that page's URL as a browser resolves it, reaching the classroom server with the token."""
    import httpx

    page_url = f"{classroom_lab.url}/{NAME}{dashboard.PATH}"
    page = httpx.get(page_url, params={"token": classroom_lab.token}, timeout=30)
    assert page.status_code == 200 and page.text == dashboard.PAGE
    for name, path in dashboard.API.items():
        response = httpx.get(urljoin(page_url, path), params={"token": classroom_lab.token},
                             headers={"Authorization": f"Bearer {INSTRUCTOR_TOKEN}"}, timeout=30)
        assert response.status_code == 200, (name, response.text)
