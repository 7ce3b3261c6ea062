# One image for every service; docker-compose.yml picks the service with `mlopsdebug serve <name>`.
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY protos ./protos
COPY mlopsdebug ./mlopsdebug
COPY services ./services
COPY clients ./clients
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.11-slim
RUN useradd --create-home --uid 10001 app
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels
USER app
ENV PYTHONUNBUFFERED=1
EXPOSE 50051 50052 50053 7860
ENTRYPOINT ["mlopsdebug"]
CMD ["serve", "episode"]
