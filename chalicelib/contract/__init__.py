"""The contract between the Lambdas and the batch job: object keys, the shared models (article,
task config, manifest, results), result metadata, exit codes and model URIs. Few dependencies
(pydantic, orjson-free, no boto3): the job imports this, never the Lambdas' wiring."""
