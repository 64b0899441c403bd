"""The admin's forms save what the operator changed, nothing more."""


def save_changed_fields(form) -> None:
    """Save only what the operator changed: a window or layout read when the form was
    posted may be older than what streams have written since."""
    if form.instance.pk is None or not form.changed_data:
        form.save()
    else:
        form.save(commit=False)
        form.instance.save(update_fields=form.changed_data)
