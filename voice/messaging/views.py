from django.contrib import messages
from django.shortcuts import redirect, render

from tenants.access import agency_view
from tenants.selectors import client_for_agency
from voice.messaging import selectors
from voice.messaging.forms import MessagingSettingsForm
from voice.paging import CALLS_PER_PAGE, CappedPaginator


@agency_view()
def client_messaging(request, client_id):
    """The client's texts to callers: confirmation templates and reminder offsets."""
    client = client_for_agency(agency=request.agency, public_id=client_id)
    settings = selectors.messaging_settings_for(client=client)
    form = MessagingSettingsForm(request.POST or None, instance=settings)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, "Texts to callers saved.")
        return redirect("client_messaging", agency_slug=request.agency.slug, client_id=client.public_id)
    return render(request, "voice/messaging/settings.html", {"client": client, "form": form})


@agency_view()
def client_texts(request, client_id):
    """Every text to this client's callers: confirmations and reminders, with when and how each went."""
    client = client_for_agency(agency=request.agency, public_id=client_id)
    texts = selectors.client_text_messages(client=client)
    page = CappedPaginator(texts, CALLS_PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "voice/messaging/text_list.html", {"client": client, "page": page})
