"""The Algo pages: a parent's ticket, the parents with their progress and children (also shown
on the blotter), a parent's page with its chart, and the pause, resume and cancel buttons. Each
calls algos.services, as /v1/sor and /v1/ws do."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from accounts.access import desk_view
from accounts.audit import client_ip
from accounts.selectors import accounts_tradable

from .forms import ParentForm
from .models import ParentSlice
from .pages import chart_data, parent_rows, parents_context
from .selectors import parent_tradable_by, parents_visible
from .services import (
    ParentInvalid,
    ParentNotChangeable,
    parent_cancel,
    parent_pause,
    parent_resume,
    parent_start,
)

CONTROLS = {"pause": parent_pause, "resume": parent_resume, "cancel": parent_cancel}


@desk_view
def algo_new(request):
    accounts = accounts_tradable(user=request.user)
    form = ParentForm(request.POST or None, accounts=accounts, initial=request.GET.dict())
    if request.method == "POST" and form.is_valid():
        try:
            parent = parent_start(ticket=form.ticket(), user=request.user, ip=client_ip(request))
        except ParentInvalid as invalid:
            for name, problems in invalid.errors.items():
                field = name.lower() if name.lower() in form.fields else None
                for problem in problems:
                    form.add_error(field, problem)
        else:
            return redirect("algo_detail", pk=parent.pk)
    return render(request, "algos/new.html", {"form": form})


@desk_view
def algo_list(request):
    return render(request, "algos/list.html", parents_context(user=request.user))


@desk_view
def algo_rows(request):
    """The parents' part alone: the Algo page polls it; the blotter loads it once, and polls it
    only while its stream is down (the stream pushes it, stream.pages)."""
    return render(request, "algos/list.html#parents", parents_context(user=request.user))


@desk_view
def algo_detail(request, pk: int):
    parent = _parent_for(request, pk)
    [row] = parent_rows(user=request.user, parents=[parent])
    slices = ParentSlice.objects.filter(parent=parent).select_related("account", "order")
    return render(
        request,
        "algos/detail.html",
        {"row": row, "parent": parent, "slices": slices, "events": parent.events.all()},
    )


@desk_view
def algo_chart(request, pk: int):
    return JsonResponse(chart_data(_parent_for(request, pk)))


@desk_view
@require_POST
def algo_control(request, pk: int, action: str):
    parent = _parent_for(request, pk)
    control = CONTROLS.get(action)
    if control is None or not parent_tradable_by(parent, user=request.user):
        raise Http404("No such parent.")
    try:
        control(parent=parent, user=request.user, ip=client_ip(request))
    except ParentNotChangeable as refusal:
        messages.error(request, str(refusal))
    if request.htmx:
        return algo_rows(request)
    return redirect(request.POST.get("next") or "algo_list")


def _parent_for(request, pk: int):
    parent = parents_visible(user=request.user).filter(pk=pk).first()
    if parent is None:
        raise Http404("No such parent.")
    return parent
