"""All models, one module per aggregate. Importing this package registers every table."""
from training_app.models.attendance import (AttendanceRecord, AttendanceSheet, AttendanceSheetVersion,
                                             AttendanceStatus, SheetStatus, Signature, SignatureMethod)
from training_app.models.audit import AuditEntry
from training_app.models.certificates import (CertificateCounter, CertificateKind, CertificateTemplate,
                                              IssuedCertificate)
from training_app.models.data_version import DataVersion
from training_app.models.convocations import ConvocationSending, ConvocationText
from training_app.models.enrolments import Enrolment, EnrolmentStatus
from training_app.models.mail import MailStatus, OutgoingMail, OutgoingMailAttachment
from training_app.models.funding import Funder
from training_app.models.funding_files import (AgreementStatus, AgreementTrainee, ClaimPayment, ClaimStatus,
                                               FunderHourlyCap, FundingAgreement, FundingClaim, FundingMode)
from training_app.models.organisation import Organisation
from training_app.models.outcomes import LearningOutcome, OutcomeResult, SessionReview
from training_app.models.people import Employer, Trainee, TraineeCategory
from training_app.models.programmes import BpfObjective, Cycle, Programme, ProgrammeKind, ProgrammeObjective
from training_app.models.registration_requests import RegistrationRequest
from training_app.models.sessions import Modality, SessionStatus, Slot, TrainingSession, session_trainers
from training_app.models.surveys import (Question, Questionnaire, QuestionnaireKind, QuestionType, Survey,
                                         SurveyAnswer, SurveyParticipation, SurveyPendingAnswers,
                                         SurveyResponse)
from training_app.models.users import Role, SignIn, User

__all__ = [
    "AttendanceRecord", "AttendanceSheet", "AttendanceSheetVersion", "AttendanceStatus", "SheetStatus",
    "Signature", "SignatureMethod",
    "AuditEntry", "BpfObjective", "Cycle", "Employer", "Enrolment", "EnrolmentStatus", "Funder", "Modality",
    "Organisation", "Programme", "ProgrammeKind", "ProgrammeObjective", "RegistrationRequest", "Role",
    "SessionStatus",
    "SignIn", "Slot", "Trainee", "TraineeCategory", "TrainingSession", "User", "session_trainers",
    "ConvocationSending", "ConvocationText", "DataVersion", "MailStatus", "OutgoingMail", "OutgoingMailAttachment",
    "CertificateCounter", "CertificateKind", "CertificateTemplate", "IssuedCertificate",
    # surveys and learning outcomes
    "LearningOutcome", "OutcomeResult", "Question", "Questionnaire", "QuestionnaireKind", "QuestionType",
    "SessionReview", "Survey", "SurveyAnswer", "SurveyParticipation",
    "SurveyPendingAnswers", "SurveyResponse",
    # funding files
    "AgreementStatus", "AgreementTrainee", "ClaimPayment", "ClaimStatus", "FunderHourlyCap", "FundingAgreement",
    "FundingClaim", "FundingMode",
]
