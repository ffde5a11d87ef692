import sys

from newsops_batch.trainjob import STEPS

if len(sys.argv) > 1 and sys.argv[1] in STEPS:
    from newsops_batch.trainjob import main as train_main

    sys.exit(train_main(sys.argv[1:]))

from newsops_batch.entrypoint import main  # noqa: E402 - the chunk job, the common case

sys.exit(main())
