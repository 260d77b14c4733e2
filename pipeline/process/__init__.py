"""What every process of the project sets up before it does anything: the
Keras choice, filesystems (s3://), the console, and the exit."""
