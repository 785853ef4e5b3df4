from django.urls import path

from . import views

urlpatterns = [
    path("", views.risk_page, name="risk"),
    path("halt/", views.risk_halt, name="risk_halt_desk"),
    path("halt/<int:account_pk>/", views.risk_halt, name="risk_halt"),
    path("resume/", views.risk_resume, name="risk_resume_desk"),
    path("resume/<int:account_pk>/", views.risk_resume, name="risk_resume"),
]
