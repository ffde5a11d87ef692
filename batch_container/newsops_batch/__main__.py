import sys

from newsops_batch.entrypoint import main

sys.exit(main())
