"""Third-party code carried with onsite because targets have no internet and Python 3.6.

tomli 1.2.3 (MIT, see tomli/LICENSE): the last tomli release that runs on Python 3.6
(tomllib is 3.11+). Taken unchanged from tomli-1.2.3-py3-none-any.whl except that its
absolute imports ``from tomli.x import`` were made relative (``from .x import``) so it works
as ``onsite._vendor.tomli``. See _vendor/README.md.
"""
