"""Specific, actionable errors. Each message names the file and says what to do next."""


class JixiaoError(Exception):
    """Base class: the CLI prints these as one line, in Chinese and English."""


class InputError(JixiaoError):
    """A file cannot be read as text: missing, empty, binary or undecodable."""


class FileMissing(InputError):
    """The file named is not there (or was removed during the run)."""


class NotRegularFile(InputError):
    """A named pipe, a device, a socket or a folder where a file was expected: refused
    without being opened, since reading one may never end."""


class InputTooLarge(InputError):
    """A file, an image or a page larger than a form document could be: refused before it
    is read, decoded or rendered. `size` and `limit` are in the unit the message names."""

    def __init__(self, message: str, size: float = 0, limit: float = 0):
        super().__init__(message)
        self.size, self.limit = size, limit


class UnsupportedFormat(InputError):
    """A file kind jixiao does not read (.doc, .wps, .et): the message says what to save it as."""


class EncryptedFile(InputError):
    """A password-protected (encrypted) Word or Excel file: it must be saved without a password."""


class CorruptFile(InputError):
    """A Word, Excel, HTML or JSON file that cannot be opened as one (a broken zip, bad JSON)."""


class EmptyDocument(InputError):
    """A file that opens but holds nothing to read: an empty workbook, sheet or document."""


class SegmentationError(JixiaoError):
    """A document holds no recognisable form."""


class BackendUnavailable(JixiaoError):
    """The requested back-end is unknown or not configured."""


class ExtractionFailed(JixiaoError):
    """A back-end could not produce a record for a form. `usage` is what the attempts cost."""

    def __init__(self, message: str, usage=None):
        super().__init__(message)
        self.usage = usage


class ConfigError(JixiaoError):
    """Settings are missing or inconsistent."""


class BadExamples(ConfigError):
    """The `--examples` folder cannot serve: not there, a file in it not a gold file, or no
    form in it approved by a reviewer and kept with its source text."""


class UnexpectedError(JixiaoError):
    """A fault in jixiao itself while reading one file (a bug, or a reader's library failing):
    that file fails with the cause named, the batch goes on; --debug shows the traceback."""


class WorkerDied(JixiaoError):
    """The worker process reading a file ended without an answer (killed, out of memory, a
    crash in a native library): that file fails by name, the batch goes on in a new worker."""


class EngineUnavailable(ConfigError):
    """The engine asked for (`--engine ray`) is not installed, or its cluster cannot be reached."""


class StaleEdit(JixiaoError):
    """Someone saved the form since this page was opened: the edit is refused, not merged."""


class SupersededForm(StaleEdit):
    """The form's file was read again as a new version since the page was opened: an edit
    here would land on a version no export, queue or later run looks at, so it is refused.
    `current` is the form to edit instead (None: no form of the new version carries this
    one; `document` is then the live document to look in)."""

    def __init__(self, form_id: int, current: int | None, document: str | None):
        self.current, self.document = current, document
        where = (f"请改第 {current} 号表 / edit form {current} instead" if current else
                 f"请在 {document} 的复核队列中找到它 / find it in the queue of {document}" if document else
                 "此文件已不在导出中 / the file is no longer in the export")
        super().__init__(f"此表所在文件已有新版本，修改未保存；{where.split(' / ')[0]} / form {form_id} belongs to a version "
                         f"of its file that a newer one replaced: the edit was not saved; {where.split(' / ')[1]}")


class NotAStore(InputError):
    """A folder named as a run's output holds no store: nothing there to review or export."""


class NoSuchForm(InputError):
    """A form id the store does not have (the review app answers 404)."""


class DroppedForm(NoSuchForm):
    """The form's file was read again (`--retry-failed`) as fewer forms, and this one, which no
    reviewer had saved, went with the reading: a save from a page open on it is refused as a
    stale page's is (409), pointing to the document's queue."""

    def __init__(self, form_id: int, document: str):
        self.document = document
        super().__init__(f"此表所在文件已重新读取，读出的表更少，此表已不在其中；修改未保存，已保存的复核没有丢失（此表无人复核过），"
                         f"请在 {document} 的复核队列中查看 / form {form_id}'s file was read again as fewer forms and this "
                         f"form is no longer in it: the edit was not saved; no saved review was lost (no one had "
                         f"reviewed this form): see the queue of {document}")
