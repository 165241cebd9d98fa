#include "export_dialog.h"

#include <QComboBox>
#include <QDialogButtonBox>
#include <QDoubleSpinBox>
#include <QFormLayout>
#include <QSpinBox>

namespace rudder::widgets {

ExportDialog::ExportDialog(const QStringList& plotNames, int current, QWidget* parent)
    : QDialog(parent), what_(new QComboBox(this)), format_(new QComboBox(this)), width_(new QComboBox(this)),
      height_(new QDoubleSpinBox(this)), dpi_(new QSpinBox(this)), font_(new QDoubleSpinBox(this))
{
    setWindowTitle("Export figure");
    for (int i = 0; i < plotNames.size(); ++i) what_->addItem(plotNames[i], i);
    what_->addItem("Whole dashboard (all plots)", -1);
    what_->setCurrentIndex(std::max(0, current));
    format_->addItem("PDF (vector)", Pdf);
    format_->addItem("SVG (vector)", Svg);
    format_->addItem("PNG", Png);
    format_->addItem("CSV, all plotted data", CsvAll);
    format_->addItem("CSV, visible range only", CsvVisible);
    width_->addItem("single column (3.25 in)", ExportOptions::kSingleColumn);
    width_->addItem("double column (6.75 in)", ExportOptions::kDoubleColumn);
    height_->setRange(0, 20);
    height_->setSuffix(" in");
    height_->setSpecialValueText("auto (0.62 × width)");
    dpi_->setRange(50, 1200);
    dpi_->setValue(300);
    dpi_->setSuffix(" dpi");
    font_->setRange(4, 24);
    font_->setValue(8);
    font_->setSuffix(" pt");
    auto* f = new QFormLayout(this);
    f->addRow("plot", what_);
    f->addRow("format", format_);
    f->addRow("width", width_);
    f->addRow("height", height_);
    f->addRow("resolution (PNG)", dpi_);
    f->addRow("font size", font_);
    auto* bb = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel, this);
    f->addRow(bb);
    connect(bb, &QDialogButtonBox::accepted, this, &QDialog::accept);
    connect(bb, &QDialogButtonBox::rejected, this, &QDialog::reject);
}

int ExportDialog::plotIndex() const { return what_->currentData().toInt(); }
void ExportDialog::setFormat(Format f)
{
    if (const int i = format_->findData(int(f)); i >= 0) format_->setCurrentIndex(i);
}

ExportDialog::Format ExportDialog::format() const { return Format(format_->currentData().toInt()); }

ExportOptions ExportDialog::options() const
{
    ExportOptions o;
    o.widthIn = width_->currentData().toDouble();
    o.heightIn = height_->value();
    o.dpi = dpi_->value();
    o.fontPt = font_->value();
    return o;
}

void ExportDialog::setOptions(const ExportOptions& o)
{
    width_->setCurrentIndex(o.widthIn > 4 ? 1 : 0);
    height_->setValue(o.heightIn);
    dpi_->setValue(o.dpi);
    font_->setValue(o.fontPt);
}

QString ExportDialog::suffix() const
{
    switch (format()) {
    case Pdf: return "pdf";
    case Png: return "png";
    case Svg: return "svg";
    default: return "csv";
    }
}

} // namespace rudder::widgets
