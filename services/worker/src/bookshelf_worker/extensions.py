"""Flask extensions of the worker's minimal app, bound in create_app()."""

from flask_babel import Babel

from bookshelf_worker.mail import TimeoutMail

mail = TimeoutMail()
babel = Babel()
