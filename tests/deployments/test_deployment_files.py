"""The deployment files as Prefect reads them: prefect.yaml, the Kubernetes GPU job
template (rendered with Prefect's own templating) and the Kubernetes deployments; the
Dockerfile of the image they run, against pyproject.toml and the Makefile."""

import json
import re
import shlex
import subprocess
import sys
import tomllib
from pathlib import Path

import yaml
from packaging.requirements import Requirement
from prefect.utilities.templating import apply_values, find_placeholders

REPO = Path(__file__).parents[2]


def _deployments(path: Path) -> dict[str, dict]:
    return {d["name"]: d for d in yaml.safe_load(path.read_text())["deployments"]}


def test_prefect_yaml_has_on_demand_and_nightly_deployments_on_the_process_pool():
    deployments = _deployments(REPO / "prefect.yaml")
    assert set(deployments) == {"train-bot", "nightly"}
    nightly = deployments["nightly"]
    assert nightly["schedules"] == [{"cron": "0 3 * * *", "timezone": "UTC"}]
    assert [bot["name"] for bot in nightly["parameters"]["bots"]] == [
        "maya_bakes",
        "ollie_stargazes",
    ]
    assert nightly["concurrency_limit"] == 1
    for deployment in deployments.values():
        assert deployment["work_pool"]["name"] == "tweetbots"
        assert "tweetbots" in deployment["tags"]
        assert (REPO / deployment["entrypoint"].split(":")[0]).is_file()


def _render_pod(job_variables: dict) -> dict:
    """The pod spec of the GPU template as a worker renders it, for these job variables."""
    template = json.loads((REPO / "deployments" / "kubernetes-gpu-job-template.json").read_text())
    properties = template["variables"]["properties"]
    placeholders = {p.name for p in find_placeholders(template["job_configuration"])}
    assert placeholders <= set(properties), placeholders - set(properties)
    values = {name: spec["default"] for name, spec in properties.items() if "default" in spec}
    values |= {**job_variables, "command": "python -m x"}
    job = apply_values(template["job_configuration"], values)
    return job["job_manifest"]["spec"]["template"]["spec"]


def test_gpu_job_template_renders_a_one_gpu_job_with_the_shared_data_volume():
    pod = _render_pod({})
    container = pod["containers"][0]
    assert container["resources"]["limits"]["nvidia.com/gpu"] == 1
    assert pod["nodeSelector"] == {"nvidia.com/gpu.product": "NVIDIA-H100-80GB-HBM3"}
    assert pod["tolerations"][0]["key"] == "nvidia.com/gpu"
    assert container["env"]["PREFECT_LOGGING_EXTRA_LOGGERS"] == "tweetbots"  # library logs
    assert container["env"]["TWEETBOTS_HOME"] == "/data"
    assert container["env"]["PREFECT_RESULTS_DEFAULT_STORAGE_BLOCK"].startswith("s3-bucket/")
    assert pod["volumes"][0]["persistentVolumeClaim"]["claimName"] == "tweetbots-data"
    assert not any("token" in key.lower() or "key" in key.lower() for key in container["env"])


def test_kubernetes_nightly_fans_out_to_the_gpu_deployment():
    deployments = _deployments(REPO / "deployments" / "prefect-kubernetes.yaml")
    gpu = deployments["train-bot-gpu"]
    nightly = deployments["nightly"]
    assert nightly["parameters"]["deployment"] == f"train-bot/{gpu['name']}"
    assert gpu["work_pool"]["job_variables"]["gpu_count"] == 1
    pod = _render_pod(nightly["work_pool"]["job_variables"])  # a CPU pod, on any node
    assert pod["containers"][0]["resources"]["limits"]["nvidia.com/gpu"] == 0
    assert (pod["nodeSelector"], pod["tolerations"]) == ({}, [])


# -- the image: Dockerfile, pyproject.toml and the Kubernetes files agree ---------------
# Nothing builds images here, so these read the files as docker and pip would.


def _dockerfile() -> list[tuple[str, str]]:
    """(instruction, arguments) of the Dockerfile, continuation lines joined."""
    text = (REPO / "Dockerfile").read_text()
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("#")]
    joined = re.sub(r"\\\n\s*", " ", "\n".join(lines))
    return [
        (word.upper(), rest.strip())
        for word, _, rest in (line.strip().partition(" ") for line in joined.splitlines())
        if word
    ]


def _shell_commands() -> list[list[str]]:
    """The words of every command the Dockerfile's RUNs chain with `&&` or `;`."""
    commands = []
    for instruction, arguments in _dockerfile():
        if instruction != "RUN":
            continue
        words = list(shlex.shlex(arguments, posix=True, punctuation_chars=True))
        command: list[str] = []
        for word in [*words, ";"]:
            if word in {"&&", ";"}:
                commands.append(command)
                command = []
            else:
                command.append(word)
    return commands


def _pip_installs() -> list[list[str]]:
    """The arguments of every `pip install` the Dockerfile runs."""
    return [words[2:] for words in _shell_commands() if words[:2] == ["pip", "install"]]


def _pyproject() -> dict:
    return tomllib.loads((REPO / "pyproject.toml").read_text())["project"]


def test_the_image_installs_torch_by_the_makefiles_pin_first():
    makefile_pin = re.search(r"^TORCH_PIN := (\S+)$", (REPO / "Makefile").read_text(), re.M)
    first = _pip_installs()[0]
    named = [Requirement(word) for word in first if not word.startswith(("-", "$"))]
    assert [str(r) for r in named] == [makefile_pin[1]]  # torch alone, by the exact pin
    declared = next(Requirement(d) for d in _pyproject()["dependencies"] if d.startswith("torch"))
    assert declared.specifier.contains(next(iter(named[0].specifier)).version)


def test_the_image_installs_what_pyproject_declares_with_its_pins(tmp_path):
    """The requirements the image installs are computed by the Dockerfile's own command
    from pyproject.toml: run here, it must give pyproject's dependencies and the extras
    the pods use, pin for pin; and no `pip install` names a package outside them."""
    (script,) = [w[2] for w in _shell_commands() if w[:2] == ["python", "-c"] and ">" in w]
    (tmp_path / "pyproject.toml").write_bytes((REPO / "pyproject.toml").read_bytes())
    listed = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, check=True
    ).stdout.split("\n")
    project = _pyproject()
    extras = project["optional-dependencies"]
    expected = [*project["dependencies"], *extras["kubernetes"], *extras["aws"]]
    assert [Requirement(r) for r in listed if r] == [Requirement(r) for r in expected]

    declared = {Requirement(r).name: Requirement(r).specifier for r in expected}
    for install in _pip_installs():
        for word in install:
            if word.startswith(("-", "$", ".", "/")):
                continue  # options, the requirements file, the project itself
            named = Requirement(word)
            assert named.name in declared, f"the Dockerfile installs {word}, not in pyproject"
            for pin in named.specifier:
                assert declared[named.name].contains(pin.version), (word, declared[named.name])


def test_the_image_is_the_one_the_template_names_built_where_the_pull_step_looks():
    config = yaml.safe_load((REPO / "deployments" / "prefect-kubernetes.yaml").read_text())
    (build,) = config["build"]
    build = build["prefect_docker.deployments.steps.build_docker_image"]
    template = json.loads((REPO / "deployments" / "kubernetes-gpu-job-template.json").read_text())
    name, tag = template["variables"]["properties"]["image"]["default"].rsplit(":", 1)
    assert (build["image_name"], build["additional_tags"]) == (name, [tag])
    assert (REPO / build["dockerfile"]).is_file()
    assert Requirement(build["requires"]) in map(
        Requirement, _pyproject()["optional-dependencies"]["docker"]
    )
    (push,) = config["push"]
    push = push["prefect_docker.deployments.steps.push_docker_image"]
    assert push["image_name"] == "{{ build-image.image_name }}"
    assert push["tag"] == "{{ build-image.tag }}"
    assert push["additional_tags"] == "{{ build-image.additional_tags }}"
    for deployment in config["deployments"]:  # the build just pushed, not a cached `cuda`
        assert deployment["work_pool"]["job_variables"]["image"] == "{{ build-image.image }}"

    (pull,) = config["pull"]
    workdir = [a for i, a in _dockerfile() if i == "WORKDIR"]
    assert workdir == [pull["prefect.deployments.steps.set_working_directory"]["directory"]]
    (home,) = [a for i, a in _dockerfile() if i == "ENV" and a.startswith("TWEETBOTS_HOME=")]
    pod_env = _render_pod({})["containers"][0]["env"]
    assert home.removeprefix("TWEETBOTS_HOME=") == pod_env["TWEETBOTS_HOME"]


def test_the_build_context_leaves_out_local_data_and_environments():
    ignored = (REPO / ".dockerignore").read_text().split()
    assert {".git", ".venv", ".tweetbots", "wandb"} <= set(ignored)
