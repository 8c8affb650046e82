from django.utils.functional import SimpleLazyObject

from .forms import ThemeForm
from .selectors import theme_of


def theme(request):
    """The theme for `data-theme` on <html>, and the form that changes it; looked up only by
    a page that shows them."""
    chosen = SimpleLazyObject(lambda: theme_of(request.user))
    form = SimpleLazyObject(lambda: ThemeForm(initial={"theme": str(chosen)}))
    return {"theme": chosen, "theme_form": form}
