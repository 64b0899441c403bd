from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from core.models import ApiKey, BadKey
from web.management.manage_py import manage_py


class Command(BaseCommand):
    help = (
        "Make a new API key for a user (replacing any old one) and print it on the last line; "
        "--key brings a key of the user's own over (a Plotly API key a board's firmware keeps)."
    )

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--create-user", action="store_true", help="Create the user if it does not exist.")
        parser.add_argument(
            "--key",
            help=(
                "Use this key (10 to 128 letters, digits, '-' or '_') instead of a random one; "
                "--key=KEY when it starts with '-'."
            ),
        )

    def handle(self, username, create_user, key=None, **options):
        User = get_user_model()
        user = User.objects.filter(username=username).first()
        if user is None:
            if not create_user:
                raise CommandError(f"No user {username!r}. Pass --create-user to create it.")
            user = User.objects.create_user(username)
            self.stderr.write(
                f"Created user {username!r}. It uses the API with this key; to log in to the pages too, "
                f"give it a password: {manage_py(f'changepassword {username}')}"
            )
        try:
            key = ApiKey.issue(user, brought=key)
        except BadKey as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(key)
