"""The deployment files as Prefect reads them: prefect.yaml, the Kubernetes GPU job
template (rendered with Prefect's own templating) and the Kubernetes deployments."""

import json
from pathlib import Path

import yaml
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
