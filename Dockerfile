# The Airflow image for the production compose stack: the official image plus the pinned project.
FROM apache/airflow:3.3.2-python3.11
COPY --chown=airflow:root requirements.txt constraints.txt pyproject.toml /opt/humas/
# Only the product: src/humas_dev (embedded stack, platform sandbox, sample item) is development tooling.
COPY --chown=airflow:root src/humas /opt/humas/src/humas
RUN pip install --no-cache-dir -r /opt/humas/requirements.txt -c /opt/humas/constraints.txt \
 && pip install --no-cache-dir --no-deps /opt/humas
ENV HUMAS_INCLUDE_DIR=/opt/airflow/include
