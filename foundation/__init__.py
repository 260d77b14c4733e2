"""What every layer of the project stands on, and imports nothing of the project.

  pins.py          the dependency versions the workarounds were written for, checked by the process boundary
  compat.py        every private API of a dependency the project uses, each a workaround with its reason
  keras_choice.py  Keras 2 (tf_keras) in every process, with the project's read-only Keras config
  errors.py        UserError and its kinds: what the CLI prints as one `error:` line
  fs.py            local and object-store (gs://, s3://) files
  dir_lock.py      one process at a time per output directory
  names.py         the names that cross layers: splits, node ids, artifact keys, files, properties
  text.py          how results are worded: tables, numbers, percentages, the serving verdict

Above it: trainer_module/, then components/, then pipeline/.
"""
