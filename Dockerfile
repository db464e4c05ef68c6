# tf-equiv with TensorFlow for the CPU, pinned by constraints.txt as in the README.
#   docker build -t tf-equiv:cpu .
#   docker run --rm -v "$PWD:/work" -w /work tf-equiv:cpu check .
# Without arguments, the entrypoint runs as the GitHub Action (action.yml): INPUT_* variables.
#
# The variant for Estimator model_fn pairs, whose TF1 side needs tf.estimator (gone since
# TensorFlow 2.16): the same image plus TensorFlow 2.15.1 with tensorflow-estimator in
# /opt/tf1-2.15, pinned by .ci/legacy-constraints.txt, that every TF1 side runs with:
#   docker build --build-arg TF1_TENSORFLOW=2.15 -t tf-equiv:cpu-tf1-2.15 .
# Measured (docker image inspect): 1.79 GB, and 3.05 GB with TF1_TENSORFLOW=2.15.
# A build argument rather than a stage: the classic builder (no BuildKit) builds every stage
# before the target, so a default build would install the legacy TensorFlow too.
ARG BASE_IMAGE=python:3.11-slim
FROM ${BASE_IMAGE}

ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    TF_USE_LEGACY_KERAS=1
# TF_EQUIV_TF1_PYTHON (set below) empty: both sides run with the image's interpreter, whatever a
# mounted project's pyproject.toml names for its own machine (--tf1-python still chooses another).

WORKDIR /opt/tf-equiv
COPY constraints.txt ./
# tf-keras declares a dependency on `tensorflow`, whose wheel would overwrite tensorflow-cpu's files
# in site-packages/tensorflow: it is installed without its dependencies, after tensorflow-cpu.
RUN pip install -c constraints.txt tensorflow-cpu tf-slim numpy click junit-xml \
    && pip install -c constraints.txt --no-deps tf-keras

# Empty (the default), or 2.15: the only legacy TensorFlow that .ci/legacy-constraints.txt pins.
ARG TF1_TENSORFLOW=
COPY .ci/legacy-constraints.txt ./
RUN case "$TF1_TENSORFLOW" in \
      '') ;; \
      2.15) venv="/opt/tf1-$TF1_TENSORFLOW" \
        && python -m venv "$venv" \
        && "$venv/bin/pip" install -c legacy-constraints.txt \
           tensorflow-cpu tensorflow-estimator tf-slim numpy \
        && "$venv/bin/pip" install -c legacy-constraints.txt --no-deps tf-keras ;; \
      *) echo "TF1_TENSORFLOW must be empty or 2.15, got '$TF1_TENSORFLOW'" >&2; exit 2 ;; \
    esac
ENV TF_EQUIV_TF1_PYTHON=${TF1_TENSORFLOW:+/opt/tf1-${TF1_TENSORFLOW}/bin/python}

# Installed in place (editable): a worker under the legacy interpreter gets the folder that holds
# tf_equiv on its PYTHONPATH, which must not be site-packages, where the current TensorFlow is.
COPY checker/ checker/
RUN pip install --no-deps --editable ./checker \
    && useradd --create-home --uid 1000 tf-equiv
COPY entrypoint /entrypoint

USER 1000:1000
WORKDIR /work
ENTRYPOINT ["/entrypoint"]
