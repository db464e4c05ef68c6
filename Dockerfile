# tf-equiv with TensorFlow for the CPU, pinned by constraints.txt as in the README.
#   docker build -t tf-equiv:cpu .
#   docker run --rm -v "$PWD:/work" -w /work tf-equiv:cpu check .
# Without arguments, the entrypoint runs as the GitHub Action (action.yml): INPUT_* variables.
ARG BASE_IMAGE=python:3.11-slim
FROM ${BASE_IMAGE}

ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    TF_USE_LEGACY_KERAS=1 \
    TF_EQUIV_TF1_PYTHON=
# TF_EQUIV_TF1_PYTHON empty: both sides run with the image's interpreter, whatever a mounted
# project's pyproject.toml names for its own machine (--tf1-python still chooses another).

WORKDIR /opt/tf-equiv
COPY constraints.txt ./
# tf-keras declares a dependency on `tensorflow`, whose wheel would overwrite tensorflow-cpu's files
# in site-packages/tensorflow: it is installed without its dependencies, after tensorflow-cpu.
RUN pip install -c constraints.txt tensorflow-cpu tf-slim numpy click junit-xml \
    && pip install -c constraints.txt --no-deps tf-keras

COPY checker/ checker/
RUN pip install --no-deps ./checker \
    && rm -r checker \
    && useradd --create-home --uid 1000 tf-equiv
COPY entrypoint /entrypoint

USER 1000:1000
WORKDIR /work
ENTRYPOINT ["/entrypoint"]
