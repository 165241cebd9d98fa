#include "prompt_panel.h"

#include <QComboBox>
#include <QFileDialog>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QLabel>
#include <QListWidget>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QRadioButton>
#include <QSplitter>
#include <QTabWidget>
#include <QTimer>
#include <QVBoxLayout>

#include <fstream>

#include <nlohmann/json.hpp>

#include "rudder/error.h"
#include "rudder/file_read.h"
#include "rudder/json_file.h"

namespace rudder::widgets {

namespace {
template <class F>
void forEachLine(const std::string& path, F f)
{
    LineReader in(path, kCapDatasetLine, kCapDataset, "dataset");
    std::string line;
    int n = 0;
    while (in.next(line)) {
        ++n;
        if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
        // The CLI's parser: invalid UTF-8 and deep nesting become a message, never a crash.
        const nlohmann::json j = parseJsonText(line, path, "line " + std::to_string(n));
        if (!j.is_object()) throw Error(path, "line " + std::to_string(n), "not a JSON object");
        if (!f(n, j)) return;
    }
}
} // namespace

std::vector<std::string> jsonlStringFields(const std::string& path)
{
    std::vector<std::string> fields;
    forEachLine(path, [&](int, const nlohmann::json& j) {
        for (auto it = j.begin(); it != j.end(); ++it)
            if (it->is_string()) fields.push_back(it.key());
        return false;   // the first object decides
    });
    if (fields.empty()) throw Error(path, "", "no JSON object with a text field");
    return fields;
}

std::vector<std::string> jsonlPrompts(const std::string& path, const std::string& field, std::vector<int64_t>* rows)
{
    std::vector<std::string> out;
    forEachLine(path, [&](int n, const nlohmann::json& j) {
        auto it = j.find(field);
        if (it == j.end() || !it->is_string())
            throw Error(path, "line " + std::to_string(n) + ": " + field, "missing or not a string");
        out.push_back(it->get<std::string>());
        if (rows) rows->push_back(n - 1);
        return true;
    });
    return out;
}

PromptPanel::PromptPanel(QWidget* parent)
    : QWidget(parent), editor_(new QPlainTextEdit(this)), templ_(new QComboBox(this)), preview_(new QPlainTextEdit(this)),
      tokens_(new QLabel(this)), datasetLabel_(new QLabel("no dataset open", this)), field_(new QComboBox(this)), goldField_(new QComboBox(this)),
      rows_(new QListWidget(this)), useEditor_(new QRadioButton("prompt above", this)),
      useDataset_(new QRadioButton("selected dataset rows", this)), debounce_(new QTimer(this))
{
    templ_->addItems({"auto", "raw", "llama3", "llama2", "vicuna", "chatml", "gemma", "mistral", "user-assistant",
                      "human-assistant", "hh"});
    templ_->setToolTip("Prompt template; auto = the one detected from the model's tokenizer_config.json");
    editor_->setPlaceholderText("Type a prompt…");
    preview_->setReadOnly(true);
    preview_->setPlaceholderText("Rendered prompt (as the model sees it) appears here once a model is loaded.");
    preview_->setMaximumHeight(90);
    editor_->setMaximumHeight(120);
    QFont mono("monospace");
    mono.setStyleHint(QFont::TypeWriter);
    preview_->setFont(mono);

    auto* editorPage = new QWidget;
    auto* ev = new QVBoxLayout(editorPage);
    ev->setContentsMargins(2, 2, 2, 2);
    ev->addWidget(editor_);
    auto* t = new QHBoxLayout;
    t->addWidget(new QLabel("template", editorPage));
    t->addWidget(templ_);
    t->addStretch(1);
    t->addWidget(tokens_);
    ev->addLayout(t);
    ev->addWidget(preview_);

    auto* dataPage = new QWidget;
    auto* dv = new QVBoxLayout(dataPage);
    dv->setContentsMargins(2, 2, 2, 2);
    auto* open = new QPushButton("Open JSONL…", dataPage);
    auto* top = new QHBoxLayout;
    top->addWidget(open);
    top->addWidget(new QLabel("field", dataPage));
    top->addWidget(field_, 1);
    dv->addLayout(top);
    // Questions with a checkable answer: the gold is accuracy against a reference field.
    auto* goldRow = new QHBoxLayout;
    goldRow->addWidget(new QLabel("gold", dataPage));
    goldRow->addWidget(goldField_, 1);
    goldField_->addItem("the Models panel's gold", QString());
    goldField_->setToolTip("Accuracy as the gold: 1 when a sample's final answer equals the reference answer in this "
                           "field of its row (GSM8K '#### N', a MATH answer or a solution with \\boxed{}), else 0");
    dv->addLayout(goldRow);
    datasetLabel_->setWordWrap(true);   // messages name the file, line and field
    dv->addWidget(datasetLabel_);
    rows_->setSelectionMode(QAbstractItemView::ExtendedSelection);
    rows_->setWordWrap(false);
    dv->addWidget(rows_, 1);

    auto* tabs = new QTabWidget(this);
    tabs->addTab(editorPage, "Prompt");
    tabs->addTab(dataPage, "Dataset");
    auto* use = new QHBoxLayout;
    use->addWidget(new QLabel("Run on:", this));
    use->addWidget(useEditor_);
    use->addWidget(useDataset_);
    use->addStretch(1);
    useEditor_->setChecked(true);
    useDataset_->setEnabled(false);
    auto* l = new QVBoxLayout(this);
    l->setContentsMargins(2, 2, 2, 2);
    l->addWidget(tabs, 1);
    l->addLayout(use);

    debounce_->setSingleShot(true);
    debounce_->setInterval(300);
    connect(debounce_, &QTimer::timeout, this, [this] { emit previewRequested(prompt(), templateName()); });
    connect(editor_, &QPlainTextEdit::textChanged, debounce_, qOverload<>(&QTimer::start));
    connect(templ_, &QComboBox::currentIndexChanged, debounce_, qOverload<>(&QTimer::start));
    connect(open, &QPushButton::clicked, this, [this] {
        const QString p = QFileDialog::getOpenFileName(this, "Open a JSONL dataset", datasetPath_,
                                                       "JSON lines (*.jsonl *.json);;All files (*)");
        if (p.isEmpty()) return;
        openDataset(p);   // a problem is shown in place, on the dataset tab
    });
    connect(field_, &QComboBox::activated, this, [this] { loadField(); });
    connect(goldField_, &QComboBox::activated, this, [this] { emit answerGoldChosen(answerGold()); });
    connect(rows_, &QListWidget::itemSelectionChanged, this, [this] {
        if (!rows_->selectedItems().isEmpty()) useDataset_->setChecked(true);
        useDataset_->setText(QString("%1 selected dataset rows").arg(rows_->selectedItems().size()));
    });
    connect(rows_, &QListWidget::itemDoubleClicked, this, [this](QListWidgetItem* it) {
        setPrompt(it->data(Qt::UserRole).toString());
        useEditor_->setChecked(true);
    });
}

QString PromptPanel::prompt() const { return editor_->toPlainText(); }
void PromptPanel::setPrompt(const QString& p) { editor_->setPlainText(p); }
QString PromptPanel::templateName() const { return templ_->currentText(); }
void PromptPanel::setTemplateName(const QString& t)
{
    if (templ_->findText(t) >= 0) templ_->setCurrentText(t);
}

std::vector<std::string> PromptPanel::prompts() const
{
    std::vector<std::string> out;
    if (useDataset_->isChecked()) {
        for (int i = 0; i < rows_->count(); ++i)
            if (rows_->item(i)->isSelected()) out.push_back(rows_->item(i)->data(Qt::UserRole).toString().toStdString());
        if (!out.empty()) return out;
    }
    out.push_back(prompt().toStdString());
    return out;
}

std::vector<PromptRecord> PromptPanel::promptRecords() const
{
    std::vector<PromptRecord> out;
    if (useDataset_->isChecked())
        for (int i = 0; i < rows_->count(); ++i)
            if (rows_->item(i)->isSelected())
                out.push_back(PromptRecord{int(out.size()), rows_->item(i)->data(Qt::UserRole).toString().toStdString(),
                                           datasetPath_.toStdString(), rows_->item(i)->data(Qt::UserRole + 1).toLongLong()});
    if (out.empty()) out.push_back(PromptRecord{0, prompt().toStdString(), "", std::nullopt});
    return out;
}

QString PromptPanel::source() const
{
    return useDataset_->isChecked() && !rows_->selectedItems().isEmpty() ? datasetPath_ : QString();
}

QString PromptPanel::datasetStatus() const { return datasetLabel_->text(); }
QString PromptPanel::answerGold() const { return goldField_->currentData().toString(); }
void PromptPanel::setAnswerGold(const QString& spec)
{
    const int i = goldField_->findData(spec);
    goldField_->setCurrentIndex(i >= 0 ? i : 0);
}
bool PromptPanel::datasetUsable() const { return useDataset_->isEnabled(); }

QString PromptPanel::openDataset(const QString& path, const QString& field)
{
    try {
        const auto fields = jsonlStringFields(path.toStdString());
        datasetPath_ = path;
        field_->clear();
        for (const auto& f : fields) field_->addItem(QString::fromStdString(f));
        const QString goldWas = answerGold();
        goldField_->clear();
        goldField_->addItem("the Models panel's gold", QString());
        for (const auto& f : fields)
            goldField_->addItem(QString("accuracy: reference answer in \"%1\"").arg(QString::fromStdString(f)),
                                QString("answer:%1").arg(QString::fromStdString(f)));
        setAnswerGold(goldWas);
        // The papers' datasets' prompt fields first: "prompt" (HH-RLHF, SHP exports), then "history", "question".
        QString pick = field;
        for (const char* f : {"prompt", "history", "question", "instruction", "text"})
            if (pick.isEmpty() && field_->findText(f) >= 0) pick = f;
        if (!pick.isEmpty()) field_->setCurrentText(pick);
        loadField();
        return useDataset_->isEnabled() ? QString() : datasetLabel_->text();
    } catch (const std::exception& e) {
        showDatasetProblem(QString::fromStdString(e.what()));
        return datasetLabel_->text();
    }
}

void PromptPanel::loadField()
{
    rows_->clear();
    try {
        std::vector<int64_t> lines;
        const auto prompts = jsonlPrompts(datasetPath_.toStdString(), field_->currentText().toStdString(), &lines);
        for (size_t i = 0; i < prompts.size(); ++i) {
            QString s = QString::fromStdString(prompts[i]);
            auto* it = new QListWidgetItem(QString("%1  %2").arg(i).arg(s.simplified().left(160)), rows_);
            it->setData(Qt::UserRole, s);
            it->setData(Qt::UserRole + 1, qint64(lines[i]));   // the file's line (0-based), as sessions store it
            it->setToolTip(s.left(2000));
        }
        datasetLabel_->setText(QString("%1 — %2 prompts (double-click to edit one, select several to run them all)")
                                   .arg(QFileInfo(datasetPath_).fileName())
                                   .arg(prompts.size()));
        useDataset_->setEnabled(true);
    } catch (const std::exception& e) {
        showDatasetProblem(QString::fromStdString(e.what()));
    }
}

void PromptPanel::showDatasetProblem(const QString& message)
{
    rows_->clear();
    datasetLabel_->setText(message);
    useDataset_->setEnabled(false);
    useEditor_->setChecked(true);
}

void PromptPanel::selectDatasetRows(const std::vector<int>& rows)
{
    rows_->clearSelection();
    for (int r : rows)
        if (r >= 0 && r < rows_->count()) rows_->item(r)->setSelected(true);
}

void PromptPanel::setPreview(const QString& rendered, qlonglong tokens)
{
    preview_->setPlainText(rendered);
    tokens_->setText(tokens >= 0 ? QString("%1 tokens").arg(tokens) : QString());
}

} // namespace rudder::widgets
