# This repository's own run of the workflow (`make bench`): workflow/Snakefile, with the
# cortexbench of this checkout. Another project deploys workflow/Snakefile as a module instead
# (README, "Use it in your project").

import sys
from pathlib import Path

# This checkout's cortexbench, at parse time as in its jobs (use_checkout_for_jobs).
sys.path.insert(0, str(Path(workflow.basedir) / "src"))

# What `include:` does, keeping the included workflow's default target (`all`) as this one's.
workflow.include("workflow/Snakefile", overwrite_default_target=True)
