// Export dialog: which plot (or the whole dashboard), paper width, DPI, font size, and format
// (PDF or SVG vector, PNG, CSV of all or the visible data).
#pragma once
#include <QDialog>
#include <QStringList>

#include "plot_export.h"

class QComboBox;
class QDoubleSpinBox;
class QSpinBox;

namespace rudder::widgets {

class ExportDialog : public QDialog {
    Q_OBJECT
public:
    enum Format { Pdf, Png, CsvAll, CsvVisible, Svg };
    ExportDialog(const QStringList& plotNames, int current, QWidget* parent = nullptr);

    int plotIndex() const;   // -1 = the whole dashboard
    Format format() const;
    void setFormat(Format f);   // (the main window restores the last one used)
    ExportOptions options() const;
    void setOptions(const ExportOptions& o);
    QString suffix() const;

private:
    QComboBox* what_;
    QComboBox* format_;
    QComboBox* width_;
    QDoubleSpinBox* height_;
    QSpinBox* dpi_;
    QDoubleSpinBox* font_;
};

} // namespace rudder::widgets
