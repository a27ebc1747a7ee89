# The image the Kubernetes GPU work pool runs: ghcr.io/tweetbots/tweetbots:cuda, the
# `image` of deployments/kubernetes-gpu-job-template.json, built and pushed by the build
# and push steps of deployments/prefect-kubernetes.yaml (`prefect deploy`, repo root).
#
# Base: python:3.11-slim, not nvidia/cuda nor pytorch/pytorch. PyPI's Linux torch wheel
# is the CUDA build: it brings the CUDA runtime, cuDNN and NCCL as nvidia-* wheels, and
# the node's NVIDIA container toolkit mounts the driver. A CUDA base image would add a
# second copy of those libraries (gigabytes); pytorch/pytorch's torch is a conda build,
# not the pinned wheel. 3.11 is the Python the project is tested on.
# Plain syntax (no heredocs, no RUN --mount): prefect-docker builds with the classic
# builder by default.
FROM python:3.11-slim-bookworm

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONUNBUFFERED=1
WORKDIR /opt/tweetbots

# torch first, by the Makefile's exact pin (TORCH_PIN), in a layer of its own: the
# gigabytes that change only with the pin. The check fails the build if a CPU build
# came instead. TORCH_INDEX_URL picks another CUDA for older drivers, e.g.
# --build-arg TORCH_INDEX_URL=https://download.pytorch.org/whl/cu126
ARG TORCH_INDEX_URL=https://pypi.org/simple
RUN pip install --index-url "$TORCH_INDEX_URL" torch==2.13.0 \
    && python -c "import torch; assert torch.version.cuda, 'torch is a CPU build'"

# Every dependency as pyproject.toml declares it (the pins live there and nowhere else),
# with the extras the pods use: a layer rebuilt only when pyproject.toml changes.
COPY pyproject.toml ./
RUN python -c "import tomllib; project = tomllib.load(open('pyproject.toml', 'rb'))['project']; extras = project['optional-dependencies']; print(*project['dependencies'], *extras['kubernetes'], *extras['aws'], sep='\n')" > /tmp/requirements.txt \
    && pip install -r /tmp/requirements.txt

# The project, editable as the Makefile installs it, in the directory the deployments'
# pull step sets: the flows' entrypoints (flows/train_bot.py) are read from here.
COPY . .
RUN pip install --no-deps -e . && pip check

# The job template mounts the shared data volume here and sets the same.
ENV TWEETBOTS_HOME=/data
