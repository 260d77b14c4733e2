"""A Kubeflow Pipelines backend, as far as this project's compiled spec meets
it, for tests that have no cluster: each rule read from the backend's source
at the versions it models (versions.py), cited as file:line.

  versions.py     the backend versions modelled and what differs between them
  contract.py     what upload and run creation refuse, in the server's words
  gateway.py      how the REST gateway turns a refusal into an HTTP answer
  api_server.py   the REST API on 127.0.0.1 that `deploy` talks to
  driver.py       a whole spec run task by task, as the driver builds each task's input
  launcher.py     what the launcher does around a task's command
  mlmd.py         the ML Metadata records artifacts pass through between tasks
  objectstore.py  the pipeline root's object store, as the launcher reads and writes it
  run_as.py       a task's command run as an unprivileged uid with no capabilities
  image.py        the container image's Dockerfile, read as text
"""
