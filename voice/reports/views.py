from datetime import datetime

from django.contrib import messages
from django.shortcuts import render

from tenants.access import client_portal_view
from voice.reports.selectors import client_month_report, report_months


@client_portal_view
def client_report(request):
    """The monthly report as a page in the client's portal: the email's numbers, chart and example calls."""
    client = request.client
    months = report_months(client=client)
    month = months[0]
    if request.GET.get("month"):
        try:
            month = datetime.strptime(request.GET["month"], "%Y-%m").date()
        except ValueError:
            messages.warning(request, "That month was not understood (use YYYY-MM); showing last month.")
    report = client_month_report(client=client, month=month)
    context = {
        "client": client,
        "report": report,
        "funnel": report.funnel,
        "months": months if month in months else [month, *months],
    }
    return render(request, "voice/reports/report.html", context)
